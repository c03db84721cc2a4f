"""Run Starlette's and FastAPI's own test suites with their TestClient, then with asgitest's, and compare.

Usage: ``python upstream/run.py [starlette|fastapi ...] [options] [-- pytest arguments or test ids]``

For each suite: the sdist of the installed version is downloaded (or taken from
``--cache``), extracted and its test requirements installed into the running environment;
then pytest runs it twice, once as is (the baseline) and once with ``swap_client`` making
``starlette.testclient.TestClient`` asgitest's. A test that passes in the baseline and not
with asgitest is a regression. The regressions are run again, serially, in both modes:
one that passes with asgitest then, or fails in the baseline too, depends on test order
or timing, and is reported but not counted. The run fails (exit status 1) if a counted
regression is not listed in ``differences.toml``. Exit status 2: no comparison was made.
See README.md beside this file.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from upstream_runner import RunnerError
from upstream_runner.differences import load_differences
from upstream_runner.pytest_runs import MODES, RunResult, names_test, run_pytest
from upstream_runner.report import SuiteResult, print_install, print_suite, print_times
from upstream_runner.requirements import InstallReport, core_names, install_requirements, read_test_requirements
from upstream_runner.sdist import extract_sdist, fetch_sdist, installed_version
from upstream_runner.suites import SUITES, Suite

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DIFFERENCES = HERE / "differences.toml"
MAX_RERUN = 300  # more regressions than this are not rerun (they all count): something broke wholesale


@dataclass(frozen=True)
class Options:
    """The command line, parsed."""

    suites: list[str]
    cache: Path | None
    install: bool
    workers: int
    keep: bool
    rerun: bool
    timeout: float
    pytest_args: list[str]


def parse_args(argv: Sequence[str]) -> Options:
    """Parse the command line; what follows ``--`` goes to pytest untouched."""
    split = list(argv).index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(
        prog="python upstream/run.py",
        description="Run upstream test suites with Starlette's TestClient and with asgitest's, and compare.",
        epilog="Arguments after -- go to both pytest runs; test ids there replace the suite's default paths.",
    )
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"{' or '.join(SUITES)} (default: all)")
    parser.add_argument(
        "--cache", type=Path, metavar="DIR", help="keep downloaded sdists in DIR (default: a temporary folder)"
    )
    parser.add_argument("--no-install", action="store_true", help="do not install the suites' test requirements")
    parser.add_argument("-n", dest="workers", type=int, default=2, metavar="N", help="pytest-xdist workers; 0: serial")
    parser.add_argument("--keep", action="store_true", help="keep the extracted sdists, pytest logs and JUnit files")
    parser.add_argument("--no-rerun", action="store_true", help="count every regression, without rerunning them")
    parser.add_argument(
        "--timeout", type=float, default=1800, metavar="SECONDS", help="bound on each pytest run, seconds (1800)"
    )
    args = parser.parse_args(list(argv)[:split])
    if args.workers < 0:
        parser.error("-n must be 0 or more")
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}: choose from {', '.join(SUITES)}")
    return Options(
        suites=list(dict.fromkeys(args.suites)) or list(SUITES),
        cache=args.cache,
        install=not args.no_install,
        workers=args.workers,
        keep=args.keep,
        rerun=not args.no_rerun,
        timeout=args.timeout,
        pytest_args=list(argv)[split + 1 :],
    )


@contextmanager
def work_folder(keep: bool) -> Iterator[Path]:
    """A temporary folder for the extracted sdists and the runs' logs; removed at the end unless ``keep``."""
    folder = Path(tempfile.mkdtemp(prefix="asgitest-upstream-"))
    try:
        yield folder
    finally:
        if keep:
            print(f"\nkept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def prepare(suite: Suite, options: Options, cache: Path, work: Path) -> tuple[str, dict[str, Path]]:
    """Fetch and extract the installed version's sdist (one copy per run), install its test requirements."""
    version = installed_version(suite.name)
    print(f"{suite.name} {version}", flush=True)
    archive = fetch_sdist(suite.name, version, cache)
    roots = {mode: extract_sdist(archive, work / suite.name / mode, suite.module) for mode in MODES}
    if options.install:
        sources, requirements = read_test_requirements(roots["baseline"], suite.name, suite.extras)
        report = InstallReport(sources)
        install_requirements(requirements, core_names(SUITES), report)
        print_install(report)
    return version, roots


def run_both(suite: Suite, version: str, roots: dict[str, Path], options: Options) -> SuiteResult:
    """Run ``suite`` in the baseline and with asgitest, then rerun its regressions."""
    runs = {}
    for mode, root in roots.items():
        print(f"running {suite.name} ({mode})...", flush=True)
        runs[mode] = run_pytest(
            suite, mode, root, workers=options.workers, args=options.pytest_args, timeout=options.timeout
        )
    result = SuiteResult(suite.name, version, runs["baseline"], runs["asgitest"])
    if options.rerun and 0 < len(result.regressions) <= MAX_RERUN:
        result.rerun = rerun(suite, roots, result.regressions, options)
    return result


def rerun(suite: Suite, roots: dict[str, Path], tests: list[str], options: Options) -> dict[str, RunResult]:
    """Run ``tests`` again in both modes, serially, keeping the options (not the test ids) of ``--``."""
    print(f"rerunning {len(tests)} regression(s) of {suite.name}...", flush=True)
    runs = {}
    for mode, root in roots.items():
        args = [arg for arg in options.pytest_args if not names_test(arg, root)] + tests
        runs[mode] = run_pytest(suite, mode, root, workers=0, args=args, timeout=options.timeout, label=f"{mode}-rerun")
    return runs


def compare(options: Options) -> int:
    """Prepare and run every selected suite, print the report; the exit status."""
    installed_version("asgitest")  # the swap needs it: fail early if it is missing
    differences, warnings = load_differences(DIFFERENCES, list(SUITES), REPO)
    for warning in warnings:
        print(f"warning: differences.toml: {warning}")
    with work_folder(options.keep) as work:
        cache = options.cache or work / "cache"
        prepared = {name: prepare(SUITES[name], options, cache, work) for name in options.suites}
        results = [run_both(SUITES[name], *prepared[name], options) for name in options.suites]
    unreviewed = sum(print_suite(result, differences, full_run=not options.pytest_args) for result in results)
    print_times(results)
    if unreviewed:
        print(f"\nFAILED: {unreviewed} regression(s) not in upstream/differences.toml")
        return 1
    print("\nOK: every regression is a reviewed difference")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line's entry point."""
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return compare(options)
    except RunnerError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
