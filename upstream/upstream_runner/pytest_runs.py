"""One pytest run of an upstream suite, as a subprocess, and its per-test outcomes from JUnit XML."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import RunnerError
from .suites import Suite

__all__ = ["MODES", "Outcome", "RunResult", "names_test", "node_id", "parse_junit", "run_pytest"]

PLUGIN_DIR = Path(__file__).resolve().parent.parent  # upstream/, where swap_client.py lives

# Arguments of both runs.
COMMON_ARGS = (
    "-q",
    "-p",
    "no:cacheprovider",  # write no .pytest_cache into the sdist
    # A module that fails to import (in one run or both) would otherwise stop the whole
    # run; its tests count as not passed.
    "--continue-on-collection-errors",
    # pytest-asyncio comes with asgitest's own test dependencies, not with upstream's; at
    # configure time it warns that its loop-scope option is unset, and upstream's
    # `filterwarnings = error` turns that warning into an INTERNALERROR. Neither suite uses
    # it: both run their async tests with anyio's plugin.
    "-p",
    "no:asyncio",
)
MODES: dict[str, tuple[str, ...]] = {
    # Starlette's own client; asgitest's pytest plugin (its pytest11 entry point) stays out too.
    "baseline": ("-p", "no:asgitest"),
    # asgitest's client in place of Starlette's; see swap_client.py.
    "asgitest": ("-p", "swap_client"),
}
OK_EXIT_CODES = (0, 1, 5)  # all passed, some failed, none collected
_XDIST_GROUP = re.compile(r"@[^\]]*$")  # "--dist loadgroup" appends "@group" to a test's id
_EXCEPTION_LINE = re.compile(r"^(?:E\s+|\s*\|\s*)?(?P<raised>[A-Za-z_][\w.]*(?:Error|Exception|Warning)(?::.*)?)$")


@dataclass(frozen=True)
class Outcome:
    """One test's result: passed, or why not (the first line of the failure, error or skip message)."""

    passed: bool
    detail: str = ""


@dataclass
class RunResult:
    """One pytest run: per-test outcomes keyed by node id, files that failed to collect, and timing."""

    mode: str
    outcomes: dict[str, Outcome]
    collection_errors: dict[str, str]
    wall: float
    summary: str
    log: Path

    @cached_property
    def passed(self) -> set[str]:
        """The node ids of the tests that passed."""
        return {test for test, outcome in self.outcomes.items() if outcome.passed}


def node_id(classname: str, name: str, root: Path) -> str:
    """The pytest node id of a JUnit ``testcase``, e.g. ``tests/test_x.py::TestY::test_z[p]``.

    pytest writes the id's file part dotted and without ``.py`` into ``classname``, with
    the test classes after it, and the rest of the id into ``name``. The longest prefix of
    ``classname`` that names a file under ``root`` is the file; what follows are classes.
    """
    name = _XDIST_GROUP.sub("", name)
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (root / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return "::".join([*parts, name])


def _file_of(dotted: str, root: Path) -> str:
    """The path of a module or folder that pytest names dotted in a collection error."""
    path = dotted.replace(".", "/")
    return f"{path}.py" if (root / f"{path}.py").is_file() else path


def _first_line(message: str, text: str) -> str:
    """One line saying why a test did not pass, from a JUnit failure's ``message`` and ``text``.

    Usually the message's first line. A generic message ("collection failure") gives way
    to the last ``E`` line of the traceback; an unraisable-exception warning, whose first
    line names only the object, gets the first exception of its traceback appended.
    """
    first = message.strip().splitlines()[0] if message.strip() else ""
    if first in ("", "collection failure"):
        raised = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
        return raised[-1] if raised else first
    if "unraisable" in first.lower():
        for line in text.splitlines():
            match = _EXCEPTION_LINE.match(line)
            if match is not None and "Unraisable" not in match["raised"] and "ExceptionGroup" not in match["raised"]:
                return f"{first} <- {match['raised'].strip()}"
    return first


def _outcome(case: ET.Element) -> Outcome:
    """The outcome a JUnit ``testcase`` element records."""
    for tag, prefix in (("failure", ""), ("error", "error: "), ("skipped", "skipped: ")):
        element = case.find(tag)
        if element is not None:
            if tag == "skipped" and element.get("type") == "pytest.xfail":
                prefix = "xfailed: "
            return Outcome(False, prefix + _first_line(element.get("message", ""), element.text or ""))
    return Outcome(True)


def parse_junit(path: Path, root: Path) -> tuple[dict[str, Outcome], dict[str, str]]:
    """Outcomes by node id, and collection errors by file, from the JUnit XML pytest wrote at ``path``.

    A test with several ``testcase`` entries (an error at teardown after a pass, say) keeps
    the first one that did not pass.
    """
    outcomes: dict[str, Outcome] = {}
    collection_errors: dict[str, str] = {}
    for case in ET.parse(path).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        outcome = _outcome(case)
        if not classname:  # a module or folder that failed to collect
            collection_errors[_file_of(name, root)] = outcome.detail.removeprefix("error: ")
            continue
        test = node_id(classname, name, root)
        if test not in outcomes or outcomes[test].passed:
            outcomes[test] = outcome
    return outcomes, collection_errors


def names_test(arg: str, root: Path) -> bool:
    """Whether a pytest argument names tests: a file, a folder or a node id under ``root``."""
    return not arg.startswith("-") and (root / arg.split("::")[0]).exists()


def _command(suite: Suite, mode: str, root: Path, workers: int, junit: Path, args: Sequence[str]) -> list[str]:
    """The pytest command line of one run; the suite's own paths unless ``args`` names tests."""
    command = [sys.executable, "-m", "pytest", *COMMON_ARGS, *MODES[mode], f"--junitxml={junit}"]
    if workers > 0:
        command += ["-n", str(workers), *suite.xdist_args]
    if not any(names_test(arg, root) for arg in args):
        command += suite.paths
    return [*command, *args]


def _environment(suite: Suite, mode: str, root: Path) -> dict[str, str]:
    """The environment of one run: upstream's ``PYTHONPATH`` entries, and this folder for ``swap_client``."""
    paths = [str(root / path) for path in suite.pythonpath]
    if mode == "asgitest":
        paths.append(str(PLUGIN_DIR))
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _kill(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` and the xdist workers it started (they share its session)."""
    if hasattr(os, "killpg"):
        os.killpg(process.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        process.kill()
    process.wait()


def _summary(log: Path) -> str:
    """pytest's last line ("12 failed, 800 passed in 20.01s"), without its ``=`` frame."""
    lines = [line.strip(" =") for line in log.read_text(errors="replace").splitlines() if line.strip(" =")]
    return lines[-1] if lines else "(no output)"


def _tail(log: Path, count: int = 25) -> str:
    """The last ``count`` lines of ``log``."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-count:])


def run_pytest(
    suite: Suite, mode: str, root: Path, *, workers: int, args: Sequence[str], timeout: float, label: str = ""
) -> RunResult:
    """Run ``suite`` in ``mode`` from the sdist at ``root`` with the extra pytest ``args``.

    pytest's output goes to ``<label>.log`` beside ``root`` (the label defaults to the mode).
    """
    if workers > 0 and importlib.util.find_spec("xdist") is None:
        print("    pytest-xdist is not installed: running serially", flush=True)
        workers = 0
    junit, log = root.parent / f"{label or mode}.xml", root.parent / f"{label or mode}.log"
    junit.unlink(missing_ok=True)
    command = _command(suite, mode, root, workers, junit, args)
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=_environment(suite, mode, root),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group with the xdist workers, to end them all on timeout
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise RunnerError(
                f"{suite.name} ({mode}) did not finish in {timeout:.0f} s; its output:\n{_tail(log)}"
            ) from None
    wall = time.monotonic() - started
    if code not in OK_EXIT_CODES or not junit.is_file():
        raise RunnerError(f"pytest ended with exit code {code} on {suite.name} ({mode}); its output:\n{_tail(log)}")
    outcomes, collection_errors = parse_junit(junit, root)
    if not outcomes and not collection_errors:
        # Under xdist, a test id that matches nothing makes the workers collect nothing, silently.
        hint = " (with -n, an id that matches no test empties the whole run: try -n 0 for pytest's error)"
        raise RunnerError(f"pytest ran no test of {suite.name} ({mode}){hint if workers else ''}:\n{_tail(log)}")
    return RunResult(mode, outcomes, collection_errors, wall, _summary(log), log)
