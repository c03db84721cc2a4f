"""The reviewed list of deliberate differences (``upstream/differences.toml``).

Each ``[[difference]]`` table names an upstream test that passes with Starlette's client
and fails with asgitest's on purpose, and the section of the docs that says why::

    [[difference]]
    suite = "fastapi"
    test = "tests/test_ws.py::test_something[param]"
    reason = "The app sends a list as the close reason, which ASGI does not allow"
    doc = "docs/migrating.md#deliberate-differences"

An entry whose ``doc`` page or section does not exist is an error: every difference is
explained where users read.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import RunnerError
from .tomlfile import require_toml

__all__ = ["Difference", "load_differences"]

FIELDS = ("suite", "test", "reason", "doc")
_DOC = re.compile(r"^(?P<file>docs/[\w./-]+\.md)#(?P<anchor>[\w-]+)$")


@dataclass(frozen=True)
class Difference:
    """One reviewed difference: a test of ``suite`` that asgitest fails on purpose."""

    suite: str
    test: str
    reason: str
    doc: str


def _parse(path: Path) -> dict[str, Any]:
    """The document at ``path`` (on Python 3.10, tomli is installed to read it if missing)."""
    try:
        document: dict[str, Any] = require_toml().loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # tomllib.TOMLDecodeError is a ValueError
        raise RunnerError(f"{path.name}: {error}") from None
    return document


def _slugify(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = unicodedata.normalize("NFKD", text.replace("`", "")).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown page: one per heading (repeats get ``_1``, ``_2``...) and explicit ids."""
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        anchors.update(re.findall(r'<a\s+(?:id|name)="([\w-]+)"', line))
        heading = re.match(r"^#{1,6}\s+(.*?)\s*(?:\{[^}]*#(?P<id>[\w-]+)[^}]*\})?\s*$", line)
        if heading is None or fenced:
            continue
        slug = heading["id"] or _slugify(heading[1])
        anchors.add(f"{slug}_{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


def _check_entry(entry: object, number: int, suites: Collection[str]) -> Difference:
    """The entry as a :class:`Difference`, or a :class:`RunnerError` saying what is wrong with it."""
    where = f"differences.toml, entry {number}"
    if not isinstance(entry, dict) or sorted(entry) != sorted(FIELDS):
        raise RunnerError(f"{where}: needs exactly the keys {', '.join(FIELDS)}")
    if not all(isinstance(entry[key], str) and entry[key].strip() for key in FIELDS):
        raise RunnerError(f"{where}: every value must be a non-empty string")
    if entry["suite"] not in suites:
        raise RunnerError(f"{where}: unknown suite {entry['suite']!r} (one of {', '.join(suites)})")
    if "::" not in entry["test"]:
        raise RunnerError(f"{where}: test must be a pytest node id, like tests/test_x.py::test_y[param]")
    if _DOC.match(entry["doc"]) is None:
        raise RunnerError(f"{where}: doc must name a docs page and a section, like docs/migrating.md#some-anchor")
    return Difference(**{key: entry[key].strip() for key in FIELDS})


def _doc_warnings(differences: list[Difference], repo: Path) -> list[str]:
    """A warning for each ``doc`` whose page or section is not (or no longer) in the repository."""
    warnings = []
    for difference in differences:
        match = _DOC.match(difference.doc)
        assert match is not None  # checked by _check_entry
        page = repo / match["file"]
        if not page.is_file():
            warnings.append(f"{difference.test}: {match['file']} does not exist")
        elif match["anchor"] not in _anchors(page.read_text(encoding="utf-8")):
            warnings.append(f"{difference.test}: {match['file']} has no section #{match['anchor']}")
    return warnings


def load_differences(
    path: Path, suites: Collection[str], repo: Path
) -> tuple[dict[tuple[str, str], Difference], list[str]]:
    """The reviewed differences keyed by ``(suite, test)``, and warnings about their ``doc`` links."""
    entries = _parse(path).get("difference", [])
    if not isinstance(entries, list):
        raise RunnerError("differences.toml: use [[difference]] tables")
    differences: dict[tuple[str, str], Difference] = {}
    for number, entry in enumerate(entries, 1):
        difference = _check_entry(entry, number, suites)
        key = (difference.suite, difference.test)
        if key in differences:
            raise RunnerError(f"differences.toml, entry {number}: {difference.suite} {difference.test} is listed twice")
        differences[key] = difference
    problems = _doc_warnings(list(differences.values()), repo)
    if problems:
        raise RunnerError("differences.toml: a doc link points nowhere:\n  " + "\n  ".join(problems))
    return differences, []
