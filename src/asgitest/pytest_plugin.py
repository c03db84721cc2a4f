"""The pytest plugin: client fixtures built from your ``app`` fixture, options, and live mode.

Installed with asgitest (the ``pytest11`` entry point); no conftest needed.
Define an ``app`` fixture returning your ASGI app, then ask for a client::

    def test_home(asgi_client):
        assert asgi_client.get("/").status_code == 200

    async def test_feed(async_asgi_client):  # under pytest-asyncio or anyio's plugin
        async with async_asgi_client.websocket_connect("/ws") as ws:
            ...

``asgi_client`` is a :class:`~asgitest.TestClient` entered (lifespan running)
for the test and closed at teardown. ``async_asgi_client`` is an
:class:`~asgitest.AsyncTestClient`; its lifespan runs around the test function
itself, on the test's own event loop, so it works whatever runs async tests
(pytest-asyncio in any mode and loop scope, anyio's plugin on asyncio or trio)
and no cancel scope is held across a fixture's ``yield``.

Options (command line, or the ini file without the dashes and with ``asgi_`` → ``asgitest_``):

``--asgi-timeout SECONDS``  the clients' ``timeout`` (ini ``asgitest_timeout``)
``--asgi-grace-period SECONDS``  the clients' ``grace_period`` (ini ``asgitest_grace_period``)
``--asgi-relaxed``  ``strict=False`` (ini ``asgitest_strict = false``)
``--asgi-live``  the fixtures serve the app with uvicorn and talk to it over
    sockets (ini ``asgitest_live = true``); a test marked ``asgi_in_process``
    stays in-process, one marked ``asgi_live`` is always live.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from ._config import DEFAULT_GRACE_PERIOD, DEFAULT_TIMEOUT

__all__ = ["client_options"]

_ASYNC_CLIENT = "async_asgi_client"
_ENTER_ATTR = "_asgitest_async_client"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgitest", "asgitest: in-process ASGI test clients")
    group.addoption("--asgi-timeout", type=float, default=None, help="bound of every wait of the client fixtures")
    group.addoption(
        "--asgi-grace-period", type=float, default=None, help="seconds an app gets to stop after a disconnect"
    )
    group.addoption(
        "--asgi-relaxed", action="store_true", default=None, help="enforce only the ASGI rules Starlette enforces"
    )
    group.addoption("--asgi-live", action="store_true", default=None, help="run the client fixtures against uvicorn")
    parser.addini("asgitest_timeout", "bound of every wait of the client fixtures", default=str(DEFAULT_TIMEOUT))
    parser.addini("asgitest_grace_period", "seconds an app gets after a disconnect", default=str(DEFAULT_GRACE_PERIOD))
    parser.addini("asgitest_strict", "enforce every ASGI rule", type="bool", default=True)
    parser.addini("asgitest_live", "run the client fixtures against uvicorn", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asgi_live: run this test's asgitest client fixtures against a live server")
    config.addinivalue_line(
        "markers",
        "asgi_in_process(reason): keep this test's asgitest client fixtures in-process, even with --asgi-live",
    )


def client_options(config: pytest.Config) -> dict[str, Any]:
    """The client arguments the options ask for: ``timeout``, ``grace_period``, ``strict``."""
    timeout = config.getoption("--asgi-timeout")
    grace = config.getoption("--asgi-grace-period")
    relaxed = config.getoption("--asgi-relaxed")
    return {
        "timeout": float(timeout if timeout is not None else config.getini("asgitest_timeout")),
        "grace_period": float(grace if grace is not None else config.getini("asgitest_grace_period")),
        "strict": not relaxed if relaxed is not None else bool(config.getini("asgitest_strict")),
    }


def is_live(node: pytest.Item) -> bool:
    """Whether the client fixtures of ``node`` run against a live server."""
    if node.get_closest_marker("asgi_in_process") is not None:
        return False
    if node.get_closest_marker("asgi_live") is not None:
        return True
    live = node.config.getoption("--asgi-live")
    return bool(live if live is not None else node.config.getini("asgitest_live"))


@pytest.fixture
def asgi_client_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments the client fixtures pass to the clients; override it to add yours."""
    return client_options(request.config)


@pytest.fixture
def asgi_client(app: Any, asgi_client_options: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A sync client for the ``app`` fixture, entered (lifespan running) for the test."""
    if is_live(request.node):
        from ._live import LiveServer

        with LiveServer(app) as server, server.client(**asgi_client_options) as live:
            yield live
        return
    from ._sync import TestClient

    with TestClient(app, **asgi_client_options) as client:
        yield client


@pytest.fixture
def async_asgi_client(app: Any, asgi_client_options: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """An async client for the ``app`` fixture; its lifespan runs around the test function, on its loop."""
    if is_live(request.node):
        from ._live import LiveServer

        with LiveServer(app) as server:
            client: Any = server.async_client(**asgi_client_options)
            setattr(request.node, _ENTER_ATTR, client)
            yield client
        return
    from ._client import AsyncTestClient

    client = AsyncTestClient(app, **asgi_client_options)
    setattr(request.node, _ENTER_ATTR, client)
    yield client


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Run a test that uses ``async_asgi_client`` inside ``async with client`` on its own loop."""
    client = getattr(item, _ENTER_ATTR, None)
    function = getattr(item, "obj", None)
    if client is None or function is None or not inspect.iscoroutinefunction(function):
        yield
        return
    item.obj = _inside(client, function)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        item.obj = function  # type: ignore[attr-defined]
        delattr(item, _ENTER_ATTR)


def _inside(client: Any, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        async with client:
            return await function(*args, **kwargs)

    return run
