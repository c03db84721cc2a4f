"""The documentation site: every Python sample is a snippet of a pytest module under docs/examples, and passes."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from asgitest._protocol import TABLE, Rule

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PAGES = sorted(DOCS.rglob("*.md"))

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
SNIPPET = re.compile(r"""^\s*-{1,}8<-{1,}\s+["'](?P<path>[^"':]+)(?::(?P<section>[\w-]+))?["']\s*$""")
SECTION = re.compile(r"#\s*-{1,}8<-{1,}\s*\[start:(?P<name>[\w-]+)\]")


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The fenced code blocks of a Markdown page: (language, lines)."""
    blocks: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        opening = FENCE.match(line)
        if not opening:
            continue
        body: list[str] = []
        for inner in lines:
            if inner.strip() == opening["fence"]:
                break
            body.append(inner)
        blocks.append((opening["lang"].lower(), body))
    return blocks


def snippet_references() -> list[tuple[Path, str, str | None]]:
    """Every snippet a page includes: (page, path, section)."""
    found = []
    for page in PAGES:
        for line in page.read_text().splitlines():
            match = SNIPPET.match(line)
            if match:
                found.append((page, match["path"], match["section"]))
    return found


NO_PLUGINS = ("-p", "no:randomly", "-p", "no:cacheprovider")


def test_the_examples_pass() -> None:
    result = subprocess.run(
        # The samples show what a user gets: asgitest's defaults, not this repository's strict setting.
        [sys.executable, "-m", "pytest", "docs/examples", "-q", *NO_PLUGINS, "-o", "asgitest_strict=false"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_samples_come_only_from_snippets() -> None:
    assert PAGES
    inline = []
    for page in PAGES:
        for language, body in fenced_blocks(page.read_text()):
            if language in {"python", "py", "python3", "pycon"}:
                code = [line for line in body if line.strip() and not SNIPPET.match(line)]
                if code or not body:
                    inline.append(f"{page.relative_to(ROOT)}: {code[:1] or 'an empty block'}")
    assert not inline, "Python samples belong in docs/examples, included with snippets:\n" + "\n".join(inline)


def test_every_snippet_exists() -> None:
    references = snippet_references()
    assert references
    missing = []
    for page, path, section in references:
        source = ROOT / path
        if not source.is_file():
            missing.append(f"{page.relative_to(ROOT)}: {path} does not exist")
        elif section is not None and section not in SECTION.findall(source.read_text()):
            missing.append(f"{page.relative_to(ROOT)}: {path} has no section {section!r}")
    assert not missing, "\n".join(missing)


def test_every_example_module_is_shown() -> None:
    shown = {path for _, path, _ in snippet_references()}
    modules = {str(module.relative_to(ROOT)) for module in EXAMPLES.glob("test_*.py")}
    assert modules
    assert not modules - shown, f"example modules no page includes: {sorted(modules - shown)}"


def rule_row(rule: Rule) -> str:
    """The row of ``rule`` in the docs' table of ASGI rules."""
    said = f"{rule.source}: “{rule.spec}”" if rule.spec else f"{rule.source} (beyond the ASGI text)"
    return f"| `{rule.id}` | {rule.text} | {said} | {'yes' if rule.relaxed else ''} |"


def test_the_rules_table_lists_every_rule_with_its_source() -> None:
    """The table in the docs is the rule table, row for row; on a change, paste the expected rows."""
    rows = [
        line for line in (DOCS / "troubleshooting.md").read_text().splitlines() if re.match(r"^\| `[\w-]+` \|", line)
    ]
    expected = [rule_row(rule) for rule in TABLE]
    assert rows == expected, "expected rows:\n" + "\n".join(expected)


def test_the_rule_counts_the_docs_give_are_the_table_s() -> None:
    relaxed = sum(rule.relaxed for rule in TABLE)
    readme = (ROOT / "README.md").read_text()
    assert f"({len(TABLE)} rules," in readme
    assert f"The {relaxed} rules Starlette" in readme
    assert f"The {relaxed} rules that Starlette" in (DOCS / "troubleshooting.md").read_text()


def test_the_readme_samples_run_against_the_example_app() -> None:
    """The README's samples use ``app``: the lobby of the example suite, which they describe."""
    import anyio

    from examples.lobby.app import app

    samples = [body for lang, body in fenced_blocks((ROOT / "README.md").read_text()) if lang == "python"]
    assert len(samples) >= 2
    ran = []
    for body in samples:
        namespace: dict[str, Any] = {"app": app}
        exec(compile("\n".join(body), "README.md", "exec"), namespace)  # the README's own code
        for name, function in namespace.items():
            if name.startswith("test_") and callable(function):
                if inspect.iscoroutinefunction(function):
                    anyio.run(function)
                else:
                    function()
                ran.append(name)
    assert ran == ["test_lobby", "test_lobby_async"]
