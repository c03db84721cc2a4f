"""Live mode: the app on uvicorn, and the live side of each in-process/live difference.

Each test here pairs with the in-process tests marked with a reason from ``tests/live.py``:
same app, same client API, and what differs when a real server sits in between.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest

from asgitest import (
    ASGIProtocolError,
    ASGITimeoutError,
    LiveServer,
    Receive,
    Scope,
    Send,
    WebSocketDenialResponse,
)
from asgitest._types import ASGIApp

from .apps import read_body, send_json
from .conftest import SyncAdapter

pytestmark = [pytest.mark.anyio, pytest.mark.asgi_live]


class Boom(Exception):
    pass


Serve = Callable[..., tuple[LiveServer, Any]]


@pytest.fixture
def serve(flavor: str) -> Iterator[Serve]:
    """``serve(app, **client_options)``: a started server and a client of the test's flavour.

    Servers stop at teardown without re-raising: tests that expect the app's exceptions
    stop their server themselves.
    """
    servers: list[LiveServer] = []
    clients: list[httpx2.Client] = []

    def start(app: ASGIApp, **options: Any) -> tuple[LiveServer, Any]:
        server = LiveServer(app, lifespan="off").start()  # the apps here have none
        servers.append(server)
        if flavor == "async":
            return server, server.async_client(**options)
        client = server.client(**options)
        clients.append(client)
        return server, SyncAdapter(client)

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop(raise_errors=False)


async def test_the_scope_is_the_servers(serve: Serve) -> None:
    """SCOPE: uvicorn builds the scope: real addresses, and only the extensions it supports."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await read_body(receive)
        await send_json(send, {"ok": True})

    server, client = serve(app)
    assert (await client.get("/a%20b?x=1")).json() == {"ok": True}
    await client.aclose()
    scope = seen[0]
    port = int(server.url.rsplit(":", 1)[1])
    assert tuple(scope["server"]) == ("127.0.0.1", port)
    assert scope["client"][0] == "127.0.0.1"
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/a b", b"/a%20b", b"x=1")
    assert "http.response.debug" not in scope.get("extensions", {})


async def test_the_app_runs_on_the_servers_loop(serve: Serve) -> None:
    """LOOP: in-process, the app runs on the test's loop; live, on the server's thread."""
    threads: list[threading.Thread] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        threads.append(threading.current_thread())
        await read_body(receive)
        await send_json(send, {})

    _, client = serve(app)
    await client.get("/")
    await client.aclose()
    assert threads[0] is not threading.current_thread()
    assert threads[0].name.startswith("asgitest live server http://127.0.0.1:")


async def test_a_request_returns_before_the_app_has(serve: Serve) -> None:
    """WAIT, BACKGROUND: a server answers when the response ends; the app may still be running."""
    events: list[str] = []
    release = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        events.append("responding")
        await send_json(send, {"ok": True})
        await anyio.to_thread.run_sync(release.wait)
        events.append("finished")

    server, client = serve(app)
    assert (await client.post("/")).json() == {"ok": True}
    assert events == ["responding"]  # and no further: the app waits for the release
    release.set()
    await client.aclose()
    server.stop()  # lets the app's connection finish
    assert events == ["responding", "finished"]


async def test_an_app_exception_is_raised_at_the_call_or_when_the_server_stops(serve: Serve) -> None:
    """RAISE: uvicorn answers 500; the exception reaches the test at the call that saw the 500,
    or at ``stop()`` for a client made with ``raise_server_exceptions=False``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom("on the server")

    server, client = serve(app)
    with pytest.raises(Boom, match="on the server"):
        await client.get("/")
    quiet = server.async_client(raise_server_exceptions=False)
    assert (await quiet.get("/")).status_code == 500
    await quiet.aclose()
    await client.aclose()
    with pytest.raises(Boom, match="on the server"):
        server.stop()
    server.stop()  # reported once


async def test_an_app_breaking_the_protocol_names_the_rule_as_in_process(serve: Serve) -> None:
    """CHECK: the served app's messages go through the in-process checks: uvicorn answers
    500, and the call raises the ASGIProtocolError naming the rule, as in-process."""

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return

    async def upper(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [("x-name", "str")]})

    server, client = serve(silent)
    with pytest.raises(ASGIProtocolError, match=r"GET / \(live\): ASGI rule \[http-response-started\]"):
        await client.get("/")
    await client.aclose()
    server.stop()
    server, client = serve(upper)
    with pytest.raises(ASGIProtocolError) as caught:
        await client.get("/")
    assert caught.value.rule == "header-bytes"
    await client.aclose()


async def test_timeouts_are_asgitest_s_as_in_process(serve: Serve) -> None:
    """TIMEOUT: a request, a body chunk and a WebSocket receive time out with ASGITimeoutError,
    as in-process; the server's own bounds (and its cancelling of the app) stay its own."""
    gone = threading.Event()  # set on the server's loop, read here

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
        while (await receive())["type"] not in {"http.disconnect", "websocket.disconnect"}:
            pass
        gone.set()

    server, client = serve(app, timeout=0.2)
    with pytest.raises(ASGITimeoutError, match=r"GET / \(live, 127\.0\.0\.1:\d+\): timed out after 0\.2s waiting for"):
        await client.get("/")
    async with client.websocket_connect("/ws") as ws:
        with pytest.raises(ASGITimeoutError, match=r"WebSocket /ws \(live, 127\.0\.0\.1:\d+\): timed out"):
            await ws.receive_text()
    await client.aclose()
    server.stop()
    assert gone.is_set()


async def test_a_send_after_the_client_left_is_silently_dropped(serve: Serve) -> None:
    """The in-process client raises ClientDisconnected (an OSError) on a send after the
    disconnect; uvicorn's send returns and drops the message."""
    outcome: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        assert (await receive())["type"] == "http.disconnect"
        try:
            await send({"type": "http.response.body", "body": b"too late", "more_body": True})
        except OSError as exc:  # pragma: no cover - what the in-process client does
            outcome.append(type(exc).__name__)
        else:
            outcome.append("dropped")

    server, client = serve(app)
    async with client.stream("GET", "/") as response:
        assert response.status_code == 200
    await client.aclose()
    server.stop()
    assert outcome == ["dropped"]


async def test_a_denial_keeps_status_and_headers_but_not_the_body(serve: Serve) -> None:
    """DENIAL: httpx2 closes the refused handshake's response before raising."""

    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [(b"x-why", b"token")]})
        await send({"type": "websocket.http.response.body", "body": b"no entry"})

    _, client = serve(deny)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 401
    assert caught.value.headers["x-why"] == "token"
    assert caught.value.content == b""


async def test_closing_before_accept_is_uvicorns_403(serve: Serve) -> None:
    """SERVER: in-process, a close before accept raises WebSocketDisconnect with the app's code;
    uvicorn turns it into an HTTP 403 denial, the code lost."""

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008, "reason": "policy"})

    _, client = serve(refuse)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 403


async def test_returning_without_accepting_is_uvicorns_500(serve: Serve) -> None:
    """SERVER: in-process, an app returning before it accepts is a 403 denial, as under
    Starlette's client; uvicorn logs an error and answers 500."""

    async def leave(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    _, client = serve(leave)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 500


async def test_lifespan_runs_once_with_the_server(flavor: str) -> None:
    """LIFESPAN: startup runs when the server starts, before any client; shutdown when it stops."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[1]
                events.append(kind)
                await send({"type": f"{message['type']}.complete"})
                if kind == "shutdown":
                    return
        await read_body(receive)
        await send_json(send, {"events": list(events)})

    with LiveServer(app) as server:
        assert events == ["startup"]
        for _ in range(2):  # clients come and go; the lifespan does not follow them
            if flavor == "async":
                async with server.async_client() as client:
                    assert (await client.get("/")).json() == {"events": ["startup"]}
            else:
                with server.client() as sync_client:
                    assert sync_client.get("/").json() == {"events": ["startup"]}
    assert events == ["startup", "shutdown"]


def test_a_startup_failure_is_raised_by_start() -> None:
    """LIFESPAN: in-process, a failed startup raises from the client's ``with``; live, from
    ``LiveServer.start()``, with the app's message or exception, and nothing is served."""

    async def declines(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    async def raises(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise Boom("no database either")

    server = LiveServer(declines)
    with pytest.raises(ASGIProtocolError, match=r"live server at http://127\.0\.0\.1:\d+: startup failed: no database"):
        server.start()
    with pytest.raises(Boom, match="no database either"):
        LiveServer(raises).start()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(server.url)


def test_the_documented_differences_name_tests_that_exist() -> None:
    """docs/live.md names, for each difference, the tests that show it: they must not rot."""
    root = Path(__file__).parent
    text = (root.parent / "docs" / "live.md").read_text(encoding="utf-8")
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", text)
    assert len(named) >= 20
    for module, test in named:
        source = (root / module).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {test}\(", source, re.MULTILINE), f"{module}::{test} is gone"
