"""TOML reading on every supported Python: ``tomllib`` (3.11+), else ``tomli`` if installed.

Python 3.10 has no TOML parser: :func:`require_toml` installs ``tomli`` with pip when it
is missing.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from . import RunnerError

__all__ = ["load_toml", "require_toml", "toml_module"]


def toml_module() -> ModuleType | None:
    """``tomllib``, or ``tomli`` on Python 3.10 when it is installed, or None."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10
        return importlib.import_module("tomli")
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        return None


def require_toml() -> ModuleType:
    """A TOML parser, installing ``tomli`` with pip first if this Python has none."""
    module = toml_module()
    if module is not None:
        return module
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "tomli"]
    if subprocess.run(command, check=False).returncode != 0:
        raise RunnerError("Python 3.10 needs tomli to read pyproject.toml, and pip could not install it")
    importlib.invalidate_caches()
    module = toml_module()
    if module is None:
        raise RunnerError("tomli was installed but cannot be imported")
    return module


def load_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``."""
    document: dict[str, Any] = require_toml().loads(path.read_text(encoding="utf-8"))
    return document
