"""The pytest plugin: client fixtures built from your ``app`` fixture, options, and live mode.

Installed with asgitest (the ``pytest11`` entry point); no conftest needed.
Define an ``app`` fixture returning your ASGI app, then ask for a client::

    def test_home(asgi_client):
        assert asgi_client.get("/").status_code == 200

    async def test_feed(async_asgi_client):  # under pytest-asyncio or anyio's plugin
        async with async_asgi_client.websocket_connect("/ws") as ws:
            ...

For several users, ``asgi_client_factory(**options)`` (and ``async_asgi_client_factory``)
makes more clients of the same app, each with its own cookie jar, sharing the fixture
client's lifespan and loop, all closed at teardown.

``asgi_client`` is a :class:`~asgitest.TestClient` entered (lifespan running)
for the test and closed at teardown. ``async_asgi_client`` is an
:class:`~asgitest.AsyncTestClient`; its lifespan runs around the test function
itself, on the test's own event loop, so it works whatever runs async tests
(pytest-asyncio in any mode and loop scope, anyio's plugin on asyncio or trio)
and no cancel scope is held across a fixture's ``yield``.

Options (command line, or the ini file), for every asgitest client the session makes,
the fixtures' and those a test or a conftest constructs itself (without the plugin, the
environment variables ``ASGITEST_TIMEOUT``, ``ASGITEST_GRACE_PERIOD`` and ``ASGITEST_STRICT``
do the same; an option given here wins):

``--asgi-timeout SECONDS``  the clients' ``timeout`` (ini ``asgitest_timeout``; "none": unbounded)
``--asgi-grace-period SECONDS``  the clients' ``grace_period`` (ini ``asgitest_grace_period``)
``--asgi-strict`` / ``--asgi-relaxed``  ``strict=True`` / ``False`` (ini ``asgitest_strict``)
``--asgi-live``  the fixtures serve the app with uvicorn and talk to it over
    sockets (ini ``asgitest_live = true``); a test marked ``asgi_in_process``
    stays in-process, one marked ``asgi_live`` is always live.

What the clients find without failing a test (``strict`` off: sessions and streams left
open, apps cancelled, sends on sockets a test closed earlier) is listed in the terminal
summary, each finding under the test that was running when it happened.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from . import _report
from ._config import Defaults, from_environment, parse_bool, parse_seconds, parse_timeout, set_suite_defaults

__all__ = ["client_options"]

_ASYNC_CLIENT = "async_asgi_client"
_FINDINGS_PLUGIN = "asgitest-findings"
_PREVIOUS_DEFAULTS = pytest.StashKey[Defaults | None]()
_REPORT_ATTR = "asgitest_findings"
_ENTER_ATTR = "_asgitest_async_client"
_MADE_ATTR = "_asgitest_factory_clients"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgitest", "asgitest: in-process ASGI test clients")
    group.addoption("--asgi-timeout", default=None, help="bound of every wait of every asgitest client (seconds)")
    group.addoption(
        "--asgi-grace-period", default=None, help="seconds an app gets to stop after a disconnect, for every client"
    )
    group.addoption(
        "--asgi-strict",
        action="store_true",
        dest="asgi_strict",
        default=None,
        help="every check of every client is an error or a warning",
    )
    group.addoption(
        "--asgi-relaxed", action="store_false", dest="asgi_strict", help="the checks' default: no failure of their own"
    )
    group.addoption("--asgi-live", action="store_true", default=None, help="run the client fixtures against uvicorn")
    parser.addini("asgitest_timeout", "bound of every wait of every asgitest client (seconds, or none)", default="")
    parser.addini("asgitest_grace_period", "seconds an app gets after a disconnect", default="")
    parser.addini("asgitest_strict", "every check is an error or a warning (true/false)", default="")
    parser.addini("asgitest_live", "run the client fixtures against uvicorn", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asgi_live: run this test's asgitest client fixtures against a live server")
    config.addinivalue_line(
        "markers",
        "asgi_in_process(reason): keep this test's asgitest client fixtures in-process, even with --asgi-live",
    )
    config.stash[_PREVIOUS_DEFAULTS] = set_suite_defaults(session_defaults(config))
    config.pluginmanager.register(_FindingsReport(), _FINDINGS_PLUGIN)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PREVIOUS_DEFAULTS in config.stash:  # a session run inside another (pytester) restores the outer one's
        set_suite_defaults(config.stash[_PREVIOUS_DEFAULTS])


def session_defaults(config: pytest.Config) -> Defaults:
    """The clients' defaults: each option from the command line, else the ini file, else the
    environment, else asgitest's own."""
    base = from_environment()

    def given(option: str, ini: str) -> str:
        value = config.getoption(option)
        return str(value) if value is not None else str(config.getini(ini)).strip()

    timeout, grace = given("--asgi-timeout", "asgitest_timeout"), given("--asgi-grace-period", "asgitest_grace_period")
    strict = config.getoption("asgi_strict")
    strict_ini = str(config.getini("asgitest_strict")).strip()
    return Defaults(
        timeout=parse_timeout(timeout, "--asgi-timeout / asgitest_timeout") if timeout else base.timeout,
        grace_period=(
            parse_seconds(grace, "--asgi-grace-period / asgitest_grace_period") if grace else base.grace_period
        ),
        strict=(
            bool(strict)
            if strict is not None
            else parse_bool(strict_ini, "asgitest_strict")
            if strict_ini
            else base.strict
        ),
    )


def client_options(config: pytest.Config) -> dict[str, Any]:
    """The client arguments the options ask for: ``timeout``, ``grace_period``, ``strict``."""
    defaults = session_defaults(config)
    return {"timeout": defaults.timeout, "grace_period": defaults.grace_period, "strict": defaults.strict}


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


@pytest.fixture
def asgi_client_factory(
    app: Any, asgi_client: Any, asgi_client_options: dict[str, Any]
) -> Iterator[Callable[..., Any]]:
    """Make more sync clients of the ``app`` fixture, one per user::

        bob = asgi_client_factory(headers={"x-user": "bob"})

    Each call returns a new client with its own cookie jar, headers and options (keywords,
    over ``asgi_client_options``). All share ``asgi_client``'s lifespan (its state included)
    and loop; live, its server. All are closed at teardown, before ``asgi_client``.
    """
    made: list[Any] = []
    yield _client_factory(app, asgi_client, asgi_client_options, made, sync=True)
    _close_all(made)


@pytest.fixture
def async_asgi_client_factory(
    app: Any, async_asgi_client: Any, asgi_client_options: dict[str, Any], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """Make more async clients of the ``app`` fixture, one per user (see
    :func:`asgi_client_factory`). They share ``async_asgi_client``'s lifespan and loop
    (live, its server) and are closed at the end of the test function, on its loop."""
    made: list[Any] = []
    setattr(request.node, _MADE_ATTR, made)
    return _client_factory(app, async_asgi_client, asgi_client_options, made, sync=False)


def _client_factory(
    app: Any, host: Any, defaults: dict[str, Any], made: list[Any], *, sync: bool
) -> Callable[..., Any]:
    """The factory of a client fixture: each call makes a client like ``host`` (sync or
    async), with ``defaults`` and the call's options, sharing its lifespan (or, live, its
    server), and adds it to ``made``."""

    def factory(**options: Any) -> Any:
        merged = _factory_options(defaults, options)
        server = getattr(host, "server", None)
        if server is not None:  # live: another client of the same server
            client = server.client(**merged) if sync else server.async_client(**merged)
        else:
            from ._client import AsyncTestClient
            from ._sync import TestClient

            client = _joined((TestClient if sync else AsyncTestClient)(app, **merged), host)
        made.append(client)
        return client

    return factory


def _factory_options(defaults: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    shared = sorted({"backend", "backend_options"} & options.keys())
    if shared:
        raise TypeError(
            f"a client factory's clients share the loop of the fixture's client: {', '.join(shared)} "
            "cannot differ (set it in the asgi_client_options fixture)"
        )
    return {**defaults, **options}


def _joined(client: Any, host: Any) -> Any:
    """``client``, sharing ``host``'s lifespan (see :meth:`Engine.join <asgitest._engine.Engine.join>`)."""
    client._engine.join(host._engine)
    client.app_state = host.app_state
    return client


def _close_all(clients: list[Any]) -> None:
    """Close every client; then raise the first error one of them raised."""
    errors: list[BaseException] = []
    for client in clients:
        try:
            client.close()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


async def _aclose_all(clients: list[Any], exc_info: tuple[Any, Any, Any] | None) -> None:
    """Close every async client; then raise the first error one of them raised, unless the
    test is failing already (``exc_info``): then its clients leave as from ``async with``."""
    errors: list[BaseException] = []
    for client in clients:
        try:
            if exc_info is None:
                await client.aclose()
            else:
                await client.__aexit__(*exc_info)
        except Exception as exc:
            errors.append(exc)
    if errors and exc_info is None:
        raise errors[0]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Run a test that uses ``async_asgi_client`` inside ``async with client`` on its own loop."""
    client = getattr(item, _ENTER_ATTR, None)
    function = getattr(item, "obj", None)
    if client is None or function is None or not inspect.iscoroutinefunction(function):
        yield
        return
    item.obj = _inside(client, getattr(item, _MADE_ATTR, []), function)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        item.obj = function  # type: ignore[attr-defined]
        delattr(item, _ENTER_ATTR)
        if hasattr(item, _MADE_ATTR):
            delattr(item, _MADE_ATTR)


def _inside(client: Any, made: list[Any], function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` run inside ``async with client``, then the factory's clients (``made``)
    closed before the client leaves."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        async with client:
            try:
                result = await function(*args, **kwargs)
            except BaseException:
                await _aclose_all(made, sys.exc_info())
                raise
            await _aclose_all(made, None)
            return result

    return run


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _report.set_current_test(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """After a test's teardown, its findings ride on its report (under xdist too, to the controller)."""
    outcome = yield
    if call.when != "teardown":
        return
    _report.set_current_test(None)
    findings = [list(finding) for finding in _report.take()]
    if findings:
        setattr(outcome.get_result(), _REPORT_ATTR, findings)


class _FindingsReport:
    """Collects the findings that reach this process's reports (from xdist's workers too)
    and lists them in the terminal summary, under the test that caused each."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, _report.Finding]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        findings = getattr(report, _REPORT_ATTR, None)
        if findings:
            self.kept.extend((report.nodeid, _report.Finding(*finding)) for finding in findings)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        kept = self.kept + [(finding.test or "(outside any test)", finding) for finding in _report.take()]
        if not kept:
            return
        terminalreporter.section("asgitest findings")
        terminalreporter.line(
            f"{len(kept)} finding(s) that failed no test (with --asgi-strict each is a warning or an error):"
        )
        for test, finding in kept:
            terminalreporter.line(f"{test}: {finding.kind}: {finding.message.partition(chr(10))[0]}")
