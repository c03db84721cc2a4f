"""pytest plugin: run a suite written for Starlette's ``TestClient`` with asgitest's instead.

Load it with ``-p swap_client``, with this folder on ``PYTHONPATH``. pytest imports the
plugins named by ``-p`` before the entry-point plugins, conftest files and test modules,
so swapping the class here, at import time, comes first: every later
``from starlette.testclient import TestClient`` and ``from fastapi.testclient import TestClient``
gets :class:`asgitest.TestClient`. ``fastapi.testclient`` copies the class when it is
imported; if something imported it earlier, its copy is replaced too.

Only the class is swapped; the rest of ``starlette.testclient`` stays Starlette's.
asgitest's ``WebSocketDisconnect`` and ``WebSocketDenialResponse`` subclass Starlette's,
so tests catching those still catch asgitest's.
"""

from __future__ import annotations

import sys

import starlette.testclient

import asgitest

STARLETTE_TESTCLIENT = starlette.testclient.TestClient


def swap() -> None:
    """Make ``TestClient`` asgitest's in ``starlette.testclient`` and, if imported, ``fastapi.testclient``."""
    setattr(starlette.testclient, "TestClient", asgitest.TestClient)  # noqa: B010 - the types differ on purpose
    fastapi_testclient = sys.modules.get("fastapi.testclient")
    if fastapi_testclient is not None:
        setattr(fastapi_testclient, "TestClient", asgitest.TestClient)  # noqa: B010


def pytest_report_header() -> str:
    """Say in pytest's header that the swap is in effect."""
    return "swap_client: starlette.testclient.TestClient is asgitest.TestClient"


swap()
