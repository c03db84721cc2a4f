"""A griffe extension: asgitest's docstrings use Sphinx roles; render them as links or code.

``:class:`~asgitest.TestClient``` and ``:meth:`wait_idle``` become mkdocstrings
cross-references when they name a public object of ``asgitest`` (or a member of the
public class whose docstring holds them), and inline code otherwise. Nothing in
``src/`` changes: the rewrite happens on the loaded docstrings, at build time.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

import asgitest

PUBLIC = frozenset(asgitest.__all__)
ROLE = re.compile(r":(?:class|meth|func|data|attr|exc|obj):`(?P<body>[^`]+)`")
EXPLICIT = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^>]+)>$")


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(lambda match: _rewrite(match["body"], obj), obj.docstring.value)


def _rewrite(body: str, obj: griffe.Object) -> str:
    explicit = EXPLICIT.match(body)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    elif body.startswith("~"):
        target = body[1:]
        title = target.rsplit(".", 1)[-1]
    else:
        title = target = body
    identifier = _resolve(target, obj)
    return f"[`{title}`][{identifier}]" if identifier else f"`{title}`"


def _resolve(target: str, obj: griffe.Object) -> str | None:
    """The public identifier ``target`` names, seen from ``obj``'s docstring, or None."""
    name = target.removeprefix("asgitest.")
    if name.split(".", 1)[0] in PUBLIC:
        return f"asgitest.{name}"
    owner = obj if obj.is_class else obj.parent
    if owner is not None and owner.is_class and owner.name in PUBLIC and "." not in name:
        return f"asgitest.{owner.name}.{name}"
    return None
