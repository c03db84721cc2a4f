"""The upstream-suites runner: Starlette's and FastAPI's own tests, with their client and with asgitest's.

``upstream/run.py`` is the command line; these modules do the work:

- :mod:`.suites`: how each upstream project runs its tests.
- :mod:`.sdist`: the installed version's source distribution, downloaded and extracted.
- :mod:`.requirements`: the suite's test requirements, installed into the running environment.
- :mod:`.pytest_runs`: one pytest run as a subprocess, its per-test outcomes read from JUnit XML.
- :mod:`.differences`: the reviewed list of deliberate differences.
- :mod:`.report`: the comparison of the two runs, printed.
"""

from __future__ import annotations

__all__ = ["RunnerError"]


class RunnerError(Exception):
    """A step failed in a way that makes the comparison meaningless; the message says which and why."""
