"""Unit tests of the pure and heuristic parts: scope building, where an app waits, and the
walk that tells a leaked connection from one only a finished frame still holds."""

from __future__ import annotations

import asyncio
import sys
import types
import weakref
from typing import Any

import httpx2

from asgitest._config import ClientConfig
from asgitest._registry import _held
from asgitest._runner import describe_await
from asgitest._scope import http_scope, websocket_scope

from .apps import echo_scope


def config(**overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "app": echo_scope,
        "raise_server_exceptions": True,
        "root_path": "",
        "client": ("testclient", 50000),
        "timeout": 1.0,
        "grace_period": 0.1,
    }
    return ClientConfig(**{**settings, **overrides})


def test_an_http_scope_is_built_from_the_request_as_a_server_would() -> None:
    request = httpx2.Request(
        "POST", "https://example.test/a%20b/c?x=1&y=2", headers={"X-Custom": "v", "Host": "example.test"}
    )
    made = config(root_path="/api")
    made.app_state["pool"] = "db"
    scope = http_scope(request, made)
    assert scope["type"] == "http"
    assert scope["method"] == "POST"
    assert (scope["scheme"], scope["server"]) == ("https", ("example.test", 443))  # the scheme's default port
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/a b/c", b"/a%20b/c", b"x=1&y=2")
    assert (b"x-custom", b"v") in scope["headers"]  # names in lower case
    assert [name for name, _ in scope["headers"]].count(b"host") == 1
    assert scope["root_path"] == "/api"
    assert scope["client"] == ("testclient", 50000)
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert set(scope["extensions"]) == {"http.response.debug", "http.response.trailers"}
    scope["state"]["changed"] = True  # a copy per scope: the app's writes stay in it
    assert made.app_state == {"pool": "db"}


def test_a_scope_without_a_host_header_gets_one_and_an_explicit_port_is_kept() -> None:
    request = httpx2.Request("GET", "http://example.test:8080/")
    del request.headers["host"]
    scope = http_scope(request, config())
    assert scope["headers"][0] == (b"host", b"example.test:8080")
    assert scope["server"] == ("example.test", 8080)


def test_a_websocket_scope_lists_the_offered_subprotocols() -> None:
    request = httpx2.Request("GET", "ws://example.test/ws", headers={"sec-websocket-protocol": "chat, , v2.json"})
    scope = websocket_scope(request, config())
    assert scope["type"] == "websocket"
    assert scope["subprotocols"] == ["chat", "v2.json"]
    assert scope["server"] == ("example.test", 80)
    assert set(scope["extensions"]) == {"websocket.http.response"}
    plain = websocket_scope(httpx2.Request("GET", "wss://example.test/ws"), config())
    assert (plain["subprotocols"], plain["server"]) == ([], ("example.test", 443))


# -- where the app waits ------------------------------------------------------------------


async def handler(event: asyncio.Event) -> None:
    await event.wait()  # the line describe_await names


async def ticks(event: asyncio.Event) -> Any:
    await event.wait()  # inside an async generator
    yield 1


async def iterates(event: asyncio.Event) -> None:
    async for _ in ticks(event):
        pass


def test_where_the_app_waits_is_its_innermost_own_frame() -> None:
    async def scenario() -> None:
        event = asyncio.Event()
        waiting = asyncio.ensure_future(handler(event))
        through_a_generator = asyncio.ensure_future(iterates(event))
        await asyncio.sleep(0)  # both run to their wait
        text = describe_await(waiting.get_coro())
        line = handler.__code__.co_firstlineno + 1
        callee = "Event.wait()" if sys.version_info >= (3, 11) else "wait()"  # qualified names: 3.11+
        assert text == f"the app is awaiting {callee} at test_units.py:{line} (in handler)"
        text = describe_await(through_a_generator.get_coro())
        assert text.endswith("(in ticks)"), text  # not the frame of the `async for`
        event.set()
        await asyncio.gather(waiting, through_a_generator)

    asyncio.run(scenario())
    assert describe_await(None) == "the app had not started yet"


# -- the leak-reference walk --------------------------------------------------------------


class Connection:
    """Stands in for the app's side of a closed connection."""


kept_by_the_module: list[Connection] = []


@types.coroutine
def pause() -> Any:
    """A suspension point that needs no event loop."""
    yield "paused"


def test_a_connection_that_live_code_holds_is_held() -> None:
    assert not _held(None)
    held = Connection()
    kept_by_the_module.append(held)  # a module's list: an app's set of sockets
    reference = weakref.ref(held)
    del held
    try:
        assert _held(reference())
    finally:
        kept_by_the_module.clear()

    async def keeps(connection: Connection) -> None:
        await pause()

    coroutine = keeps(Connection())
    coroutine.send(None)  # suspended, holding it
    reference = weakref.ref(coroutine.cr_frame.f_locals["connection"])
    try:
        assert _held(reference())
    finally:
        coroutine.close()


def test_a_connection_that_only_a_finished_frame_holds_is_not_held() -> None:
    """A traceback kept after the app handled an exception (as a log record keeps it) holds
    the app's finished frames, and their locals the closed connection: no leak."""

    def fails(connection: Connection) -> None:
        raise ValueError("the app's handled error")

    kept: list[BaseException] = []
    try:
        fails(Connection())
    except ValueError as exc:
        kept.append(exc)
    frame = kept[0].__traceback__.tb_next.tb_frame  # type: ignore[union-attr]
    reference = weakref.ref(frame.f_locals["connection"])
    del frame
    assert reference() is not None  # alive: the traceback's frame holds it
    assert not _held(reference())
