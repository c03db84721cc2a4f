"""A suite's test requirements, read from its sdist and installed into the running environment.

Where they come from: a requirements file (``requirements-tests.txt`` and the like), the
test extra of ``[project.optional-dependencies]``, the first of the ``tests``, ``test``,
``testing`` or ``dev`` groups of ``[dependency-groups]``, and the extras of the package
itself that the suite names.

How they are installed, so that the environment under test changes as little as possible:

1. A requirement naming an installed distribution keeps the installed version: its
   version specifier is dropped (reported if the installed version is outside it), and it
   goes to pip only for its extras.
2. All the others go to pip in one call, with every installed distribution pinned.
3. If pip cannot resolve that, each goes alone, first with every installed distribution
   pinned, then with only the core pinned: Starlette, FastAPI, pytest, asgitest and
   asgitest's own dependencies. One that pip cannot install even then is skipped (and
   reported): the tests that need it fail in both runs and do not count.

The versions pip changed are reported too.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PEP508Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from . import RunnerError
from .sdist import normalize
from .tomlfile import load_toml

__all__ = ["InstallReport", "Requirement", "install_requirements", "parse_requirement", "read_test_requirements"]

REQUIREMENT_FILES = (
    "requirements-tests.txt",
    "requirements-test.txt",
    "requirements_tests.txt",
    "test-requirements.txt",
    "requirements/tests.txt",
    "requirements/test.txt",
)
TEST_EXTRAS = ("tests", "test", "testing")
TEST_GROUPS = ("tests", "test", "testing", "dev")  # the first one found

_SELF = re.compile(r"^(?:(?:-e|--editable)\s+)?\.(?P<extras>\[[^\]]*\])?$")  # "-e .[all]": the package itself


@dataclass(frozen=True)
class Requirement:
    """One PEP 508 requirement, split just enough to drop its version specifier."""

    text: str
    name: str  # normalized
    extras: str  # "[a,b]" or ""
    specifier: str  # ">=1.0,<2" or ""
    marker: str  # "; python_version < '3.11'" or ""

    @property
    def unversioned(self) -> str:
        """The requirement without its version specifier."""
        return f"{self.name}{self.extras} {self.marker}".strip()


@dataclass
class InstallReport:
    """What the install step did for one suite."""

    sources: list[str]
    requirements: int = 0
    kept: list[str] = field(default_factory=list)  # installed version kept, outside the range upstream asks
    skipped: list[str] = field(default_factory=list)  # could not be installed, with pip's reason
    changed: list[str] = field(default_factory=list)  # what pip added or changed


def parse_requirement(text: str) -> Requirement:
    """Split a PEP 508 requirement into name, extras, version specifier and marker
    (with ``packaging``, which pytest depends on)."""
    try:
        parsed = PEP508Requirement(text.strip())
    except InvalidRequirement as error:
        raise RunnerError(f"cannot read the requirement {text!r}: {error}") from None
    return Requirement(
        text=text.strip(),
        name=normalize(parsed.name),
        extras=f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else "",
        specifier=str(parsed.specifier),
        marker=f"; {parsed.marker}" if parsed.marker else "",
    )


def _requirement_file(path: Path, package: str) -> list[str]:
    """The requirements of a pip requirements file, following ``-r`` includes."""
    lines: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        option, _, value = line.partition(" ")
        if option in ("-r", "--requirement"):
            lines += _requirement_file(path.parent / value.strip(), package)
        elif (self_match := _SELF.match(line)) is not None:
            lines.append(package + (self_match["extras"] or ""))
        elif line and not line.startswith("-"):  # other pip options (-c, --index-url...) do not name a package
            lines.append(line)
    return lines


def _dependency_group(groups: dict[str, Any], name: str) -> list[str]:
    """The requirements of one ``[dependency-groups]`` group, ``include-group`` entries expanded."""
    by_name = {normalize(key): value for key, value in groups.items()}
    lines: list[str] = []
    for item in by_name.get(normalize(name), []):
        if isinstance(item, dict) and "include-group" in item:
            lines += _dependency_group(groups, item["include-group"])
        elif isinstance(item, str):
            lines.append(item)
    return lines


def _pyproject_requirements(pyproject: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The sources used (for the report) and the test requirements of a parsed ``pyproject.toml``."""
    sources: list[str] = []
    lines: list[str] = []
    extras = pyproject.get("project", {}).get("optional-dependencies", {})
    for extra in TEST_EXTRAS:
        if extra in extras:
            sources.append(f"pyproject.toml [project.optional-dependencies] {extra}")
            lines += extras[extra]
    groups = pyproject.get("dependency-groups", {})
    for group in TEST_GROUPS:
        if normalize(group) in {normalize(key) for key in groups}:
            sources.append(f"pyproject.toml [dependency-groups] {group}")
            lines += _dependency_group(groups, group)
            break
    return sources, lines


def read_test_requirements(root: Path, package: str, extras: Sequence[str] = ()) -> tuple[list[str], list[Requirement]]:
    """The sources found in the sdist at ``root`` and the test requirements they list, without repeats.

    ``extras`` are extras of ``package`` itself to add to them.
    """
    sources = [f"{package}[{extra}]" for extra in extras]
    lines = list(sources)
    for name in REQUIREMENT_FILES:
        if (root / name).is_file():
            sources.append(name)
            lines += _requirement_file(root / name, package)
    if (root / "pyproject.toml").is_file():
        found, listed = _pyproject_requirements(load_toml(root / "pyproject.toml"))
        sources += found
        lines += listed
    unique = {parse_requirement(line).text: parse_requirement(line) for line in lines}
    return sources, list(unique.values())


def satisfies(version: str, specifier: str) -> bool | None:
    """Whether ``version`` is in the range ``specifier`` (">=1.0,<2"); None if it is no PEP 440 version."""
    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return None


def installed_versions() -> dict[str, str]:
    """Normalized name to version, for every distribution installed in the running environment."""
    importlib.invalidate_caches()
    versions: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(normalize(name), dist.version)
    return versions


def core_names(suite_names: Iterable[str]) -> set[str]:
    """The distributions never to change: the suites' packages, pytest, asgitest and its dependencies."""
    names = {"pytest", "asgitest", *(normalize(name) for name in suite_names)}
    for line in importlib.metadata.requires("asgitest") or []:
        requirement = parse_requirement(line)
        if "extra" not in requirement.marker:
            names.add(requirement.name)
    return names


def _pip_error(output: str) -> str:
    """One line saying why pip failed: the dependency conflict if it names one, else its first error."""
    lines = [line.strip() for line in output.splitlines()]
    if "The conflict is caused by:" in lines:
        start = lines.index("The conflict is caused by:") + 1
        return "conflict: " + "; ".join(line for line in lines[start : start + 2] if line)
    errors = [line for line in lines if line.startswith("ERROR:")]
    return errors[0] if errors else (lines[-1] if lines else "pip failed")


def _pip_install(items: Collection[str], pins: dict[str, str]) -> str | None:
    """Install ``items`` with ``pins`` as constraints; None on success, else pip's reason."""
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder, "constraints.txt")
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        done = subprocess.run([*command, "-c", str(constraints), *items], capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else _pip_error(done.stdout + done.stderr)


def _install_one(item: str, core: set[str]) -> str | None:
    """Install ``item`` with everything pinned, else with only the core pinned; None on success."""
    if _pip_install([item], installed_versions()) is None:
        return None
    return _pip_install([item], {name: version for name, version in installed_versions().items() if name in core})


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The distributions pip added or changed, as ``name version`` or ``name old -> new``."""
    changes = []
    for name, version in sorted(after.items()):
        if name not in before:
            changes.append(f"+{name} {version}")
        elif before[name] != version:
            changes.append(f"{name} {before[name]} -> {version}")
    return changes


def install_requirements(requirements: list[Requirement], core: set[str], report: InstallReport) -> None:
    """Install ``requirements`` into the running environment as the module docstring describes."""
    before = installed_versions()
    report.requirements = len(requirements)
    items: list[str] = []
    for requirement in requirements:
        if requirement.name not in before:
            items.append(requirement.text)
            continue
        if requirement.specifier and satisfies(before[requirement.name], requirement.specifier) is not True:
            report.kept.append(f"{requirement.name} {before[requirement.name]} (asks {requirement.specifier})")
        if requirement.extras:
            items.append(requirement.unversioned)
    if items and _pip_install(items, before) is not None:
        for item in items:
            reason = _install_one(item, core)
            if reason is not None:
                report.skipped.append(f"{item}: {reason}")
    report.changed = _changes(before, installed_versions())
