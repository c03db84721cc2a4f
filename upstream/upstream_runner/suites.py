"""How each upstream project runs its own test suite, taken from the test script in its sdist."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SUITES", "Suite"]


@dataclass(frozen=True)
class Suite:
    """One upstream test suite.

    ``name`` is both the distribution and the command-line name. ``module`` is the import
    name: the sdist's copy of the package is removed after extraction, so that the tests
    import the installed package, the one ``swap_client`` patches. ``paths`` is what
    upstream's test script collects, ``pythonpath`` what it adds to ``PYTHONPATH``
    (relative to the sdist root) and ``xdist_args`` how it distributes tests. ``extras``
    are the package's own extras its tests need beyond the test requirements.
    """

    name: str
    module: str
    paths: tuple[str, ...]
    pythonpath: tuple[str, ...] = ()
    xdist_args: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()


SUITES: dict[str, Suite] = {
    # scripts/test: `pytest` at the root; naming tests/ collects the same tests
    # without loading the conftest of benchmarks/, which has none. Its `dev` group,
    # the test requirements, already asks for starlette[full].
    "starlette": Suite(name="starlette", module="starlette", paths=("tests",)),
    # scripts/test.sh: `PYTHONPATH=./docs_src pytest -n auto --dist loadgroup tests scripts/tests/`.
    # Tests that chdir into a shared folder carry an xdist_group mark, hence loadgroup.
    # The tests also need the `all` extra (pydantic-settings, email-validator...): FastAPI's
    # requirements-tests.txt used to start with `-e .[all]`; its `tests` group does not list it.
    "fastapi": Suite(
        name="fastapi",
        module="fastapi",
        paths=("tests", "scripts/tests"),
        pythonpath=("docs_src",),
        xdist_args=("--dist", "loadgroup"),
        extras=("all",),
    ),
}
