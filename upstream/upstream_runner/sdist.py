"""The source distribution of the installed version of a package: downloaded once, extracted per run."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from . import RunnerError

__all__ = ["extract_sdist", "fetch_sdist", "installed_version", "normalize"]


def normalize(name: str) -> str:
    """The PEP 503 form of a distribution name: lowercase, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(distribution: str) -> str:
    """The version of ``distribution`` installed in the running environment."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise RunnerError(f"{distribution} is not installed in this environment") from None


def _find_sdist(cache: Path, distribution: str, version: str) -> Path | None:
    """An sdist of ``distribution`` ``version`` already in ``cache``, whatever the spelling of its name."""
    wanted = f"{normalize(distribution)}-{version}"
    for path in sorted(cache.iterdir()):
        for suffix in (".tar.gz", ".zip"):
            if path.name.endswith(suffix) and normalize(path.name[: -len(suffix)]) == normalize(wanted):
                return path
    return None


def fetch_sdist(distribution: str, version: str, cache: Path) -> Path:
    """The sdist of ``distribution==version``, from ``cache`` or else downloaded into it with pip."""
    cache.mkdir(parents=True, exist_ok=True)
    found = _find_sdist(cache, distribution, version)
    if found is not None:
        return found
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input"]
    command += ["--no-deps", "--no-binary", ":all:", "--dest", str(cache), f"{distribution}=={version}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = _find_sdist(cache, distribution, version)
    if done.returncode != 0 or found is None:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise RunnerError(f"pip could not download the sdist of {distribution}=={version}:\n{tail}")
    return found


def _extract_archive(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest``, refusing members that would land outside it."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(dest)  # zipfile already drops absolute paths and ".." parts
        return
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - older patch releases
            for member in tar.getmembers():
                if member.name.startswith(("/", "..")) or "/../" in member.name:
                    raise RunnerError(f"{archive.name}: unsafe member {member.name!r}")
            tar.extractall(dest)


def extract_sdist(archive: Path, dest: Path, module: str) -> Path:
    """Extract ``archive`` into ``dest`` and return the sdist's root folder.

    The sdist's own copy of the package (``module/``) is removed: run from the root, the
    tests would import it instead of the installed package, and ``swap_client`` patches
    the installed one. The versions are the same, so nothing else changes.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _extract_archive(archive, dest)
    roots = [path for path in dest.iterdir() if path.is_dir()]
    if len(roots) != 1:
        raise RunnerError(f"{archive.name}: expected one top-level folder, found {len(roots)}")
    root = roots[0]
    package = root / module
    if (package / "__init__.py").is_file():
        shutil.rmtree(package)
    return root
