"""A catalog of misbehaving apps: each ends within its timeout plus a second, with a message that says why.

The catalog is data: one :class:`Case` per misbehaviour, built from small app
factories. Adding a case is adding one entry. Every case runs through both
clients on asyncio and trio.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest

from asgitest import (
    AppCancelledWarning,
    ASGIProtocolError,
    ASGITimeoutError,
    AsyncTestClient,
    ClientClosedError,
    LiveServer,
    Message,
    Receive,
    Scope,
    Send,
    TestClient,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)

from . import live

pytestmark = pytest.mark.anyio

TIMEOUT = 0.5
GRACE = 0.2
HERE = "test_misbehaving.py"


class Boom(Exception):
    """What a failing app raises."""


# -- app factories --------------------------------------------------------------------------

HANG = "hang"
RAISE = "raise"
RETURN = "return"
SWALLOW = "swallow"  # catch the error the last send raised, and return


def http(*messages: Message, then: str = RETURN) -> Any:
    """An HTTP app that reads its request, sends ``messages``, then hangs, raises or returns."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        try:
            for message in messages:
                await send(message)
        except ASGIProtocolError:
            if then != SWALLOW:
                raise
            return
        await finish(then)

    return app


def websocket(*messages: Message, then: str = HANG) -> Any:
    """A WebSocket app that takes the connect event, sends ``messages``, then hangs, raises or returns."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)
        await finish(then)

    return app


async def finish(then: str) -> None:
    if then == HANG:
        await anyio.sleep_forever()
    if then == RAISE:
        raise Boom("the app failed")


def lifespan(startup: Message | str, shutdown: Message | str = "lifespan.shutdown.complete") -> Any:
    """A lifespan app answering startup and shutdown with a message, or HANG / RAISE / RETURN."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await http(START, BODY)(scope, receive, send)
            return
        for answer in (startup, shutdown):
            await receive()
            if isinstance(answer, dict):
                await send(answer)
            elif answer.startswith("lifespan."):
                await send({"type": answer})
            else:
                await finish(answer)
                return

    return app


async def raises_before_receive(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        raise Boom("no lifespan here")  # before receive(): lifespan is not supported
    await http(START, BODY)(scope, receive, send)


START: Message = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
BODY: Message = {"type": "http.response.body", "body": b"ok"}
MORE: Message = {"type": "http.response.body", "body": b"part", "more_body": True}
ACCEPT: Message = {"type": "websocket.accept"}


# -- what the test does ---------------------------------------------------------------------


async def get(client: Any) -> None:
    await client.get("/")


async def read_stream(client: Any) -> None:
    async with client.stream("GET", "/") as response:
        await response.aread()


async def leave_stream(client: Any) -> None:
    async with client.stream("GET", "/") as response:
        assert response.status_code == 200


async def handshake(client: Any) -> None:
    async with client.websocket_connect("/ws"):
        pass


async def receive_one(client: Any) -> None:
    async with client.websocket_connect("/ws", subprotocols=["chat"]) as ws:
        await ws.receive()


async def run_lifespan(client: Any) -> None:
    async with client:
        await client.get("/")


# -- the catalog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One misbehaving app, what the test does with it, and what must come of it.

    ``error`` is raised with a message matching ``match`` (a regex), or, when None,
    nothing is raised; ``warns`` is a warning that must be emitted. ``in_app`` says
    that the message names the app's own frame (file:line), as timeouts do.
    """

    name: str
    app: Any
    act: Callable[[Any], Awaitable[None]]
    error: type[BaseException] | None
    match: str = ""
    warns: type[Warning] | None = None
    in_app: bool = False


CATALOG = [
    # HTTP
    Case(
        "never responds", http(then=HANG), get, ASGITimeoutError, r"did not start a response within 0\.5s",
        in_app=True,
    ),
    Case("body before start", http(BODY), get, ASGIProtocolError, r"\[http-start-first\]"),
    Case("starts twice", http(START, START), get, ASGIProtocolError, r"\[http-start-once\]"),
    Case(
        "headers as str", http({**START, "headers": [("content-type", "text/plain")]}), get, ASGIProtocolError,
        r"\[header-bytes\] .*Got \('content-type', 'text/plain'\)",
    ),
    Case("status as str", http({**START, "status": "200"}), get, ASGIProtocolError, r"\[http-status-int\]"),
    Case(
        "status out of range", http({**START, "status": 1200}, BODY), get, ASGIProtocolError,
        r"\[http-status-range\]",
    ),
    Case("body as str", http(START, {**BODY, "body": "ok"}), get, ASGIProtocolError, r"\[http-body-bytes\]"),
    Case("unknown message", http({"type": "http.response.begin"}), get, ASGIProtocolError, r"\[http-unknown-type\]"),
    Case("message not a dict", http(["http.response.start"]), get, ASGIProtocolError, r"\[message-dict\]"),  # type: ignore[arg-type]
    Case("returns without responding", http(), get, ASGIProtocolError, r"\[http-response-started\]"),
    Case("returns mid-body", http(START, MORE), get, ASGIProtocolError, r"\[http-response-complete\]"),
    Case(
        "body longer than its content-length",
        http({**START, "headers": [(b"content-length", b"1")]}, BODY), get, ASGIProtocolError,
        r"\[http-content-length\] .*declared 1 bytes and sent 2",
    ),
    Case("sends after the response", http(START, BODY, BODY), get, ASGIProtocolError, r"\[http-after-complete\]"),
    Case(
        "swallows the error of its bad send",
        http({**START, "headers": [("a", "b")]}, then=SWALLOW), get, ASGIProtocolError, r"\[header-bytes\]",
    ),
    Case("raises before the response", http(then=RAISE), get, Boom, "the app failed"),
    Case("raises after the response", http(START, BODY, then=RAISE), get, Boom, "the app failed"),
    Case("raises mid-stream", http(START, MORE, then=RAISE), read_stream, Boom, "the app failed"),
    Case(
        "never ends its body", http(START, MORE, then=HANG), read_stream, ASGITimeoutError,
        r"waiting for the next body chunk", in_app=True,
    ),
    Case(
        "never returns after its response", http(START, BODY, then=HANG), get, ASGITimeoutError,
        r"waiting for the app to return after the response body", in_app=True,
    ),
    Case("ignores the disconnect", http(START, MORE, then=HANG), leave_stream, None, warns=AppCancelledWarning),
    # WebSocket
    Case(
        "never accepts", websocket(), handshake, ASGITimeoutError, r"waiting for the app to accept the WebSocket",
        in_app=True,
    ),
    Case("accepts twice", websocket(ACCEPT, ACCEPT), receive_one, ASGIProtocolError, r"\[ws-accept-once\]"),
    Case(
        "sends before accepting", websocket({"type": "websocket.send", "text": "hi"}), handshake, ASGIProtocolError,
        r"\[ws-send-after-accept\]",
    ),
    Case(
        "sends text and bytes", websocket(ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"b"}),
        receive_one, ASGIProtocolError, r"\[ws-send-one-payload\]",
    ),
    Case(
        "accepts a subprotocol nobody offered", websocket({**ACCEPT, "subprotocol": "graphql-ws"}), handshake,
        ASGIProtocolError, r"\[ws-subprotocol-offered\] .*offered \['chat'\]|offered \[\]",
    ),
    Case(
        "closes with a reserved code", websocket(ACCEPT, {"type": "websocket.close", "code": 1006}), receive_one,
        ASGIProtocolError, r"\[ws-close-code-range\]",
    ),
    Case(
        "never sends (nor receives)", websocket(ACCEPT), receive_one, ASGITimeoutError,
        r"waiting for a message from the app", in_app=True,  # cancelled then, with no warning: the test failed
    ),
    Case("raises after accepting", websocket(ACCEPT, then=RAISE), receive_one, Boom, "the app failed"),
    Case(
        "closes before accepting", websocket({"type": "websocket.close", "code": 4403}, then=RETURN), handshake,
        WebSocketDisconnect, "4403",
    ),
    Case("ignores the close", websocket(ACCEPT), handshake, None, warns=AppCancelledWarning),
    Case(
        "runs on after closing in the handshake", websocket({"type": "websocket.close", "code": 4403}), handshake,
        WebSocketDisconnect, "4403", warns=AppCancelledWarning,
    ),
    # Lifespan
    Case(
        "startup hangs", lifespan(HANG), run_lifespan, ASGITimeoutError, r"did not answer lifespan\.startup",
        in_app=True,
    ),
    Case(
        "startup fails", lifespan({"type": "lifespan.startup.failed", "message": "no database"}), run_lifespan,
        ASGIProtocolError, "startup failed: no database",
    ),
    Case("startup raises", lifespan(RAISE), run_lifespan, Boom, "the app failed"),
    Case(
        "answers startup with shutdown", lifespan("lifespan.shutdown.complete"), run_lifespan, ASGIProtocolError,
        r"\[lifespan-answer-startup\]",
    ),
    Case("returns during startup", lifespan(RETURN), run_lifespan, ASGIProtocolError, r"\[lifespan-unanswered\]"),
    Case(
        "shutdown hangs", lifespan("lifespan.startup.complete", HANG), run_lifespan, ASGITimeoutError,
        r"did not answer lifespan\.shutdown", in_app=True,
    ),
    Case("lifespan unsupported", raises_before_receive, run_lifespan, None),
]  # fmt: skip


@live.CHECK
@pytest.mark.parametrize("case", CATALOG, ids=[case.name for case in CATALOG])
async def test_a_misbehaving_app_is_explained_in_time(make_client: Any, case: Case) -> None:
    client = make_client(case.app, timeout=TIMEOUT, grace_period=GRACE)
    started = time.monotonic()
    with pytest.warns(case.warns) if case.warns else _nothing():
        if case.error is None:
            await case.act(client)
        else:
            with pytest.raises(case.error, match=case.match) as caught:
                await case.act(client)
            message = str(caught.value)
            if isinstance(caught.value, ASGITimeoutError | ASGIProtocolError):
                assert "\nlast ASGI events of " in message  # the transcript
            if case.in_app:
                assert "the app is awaiting " in message
                assert HERE in message, message
        await client.aclose()
    assert time.monotonic() - started < TIMEOUT + GRACE + 1


def _nothing() -> Any:
    import contextlib

    return contextlib.nullcontext()


def test_the_catalog_is_large_enough_and_every_name_unique() -> None:
    names = [case.name for case in CATALOG]
    assert len(set(names)) == len(names) >= 30


async def _echo_forever(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def test_bad_arguments_fail_at_the_call_that_made_them(make_client: Any) -> None:
    """A clear TypeError or ValueError from the call, never an error from deep inside."""
    client = make_client(_echo_forever)
    async with client.websocket_connect("/ws") as ws:
        for call, error, words in [
            (lambda: ws.send_text(b"bytes"), TypeError, "use send_bytes"),
            (lambda: ws.send_bytes("text"), TypeError, "use send_text"),
            (lambda: ws.send("not a dict"), TypeError, "a dict with a str 'type'"),
            (lambda: ws.receive(timeout="1"), TypeError, "timeout must be a number of seconds"),
            (lambda: ws.receive_text(timeout=float("nan")), ValueError, "finite number of seconds"),
            (lambda: ws.receive_json(timeout=-1), ValueError, "finite number of seconds"),
            (lambda: ws.close(code="1000"), TypeError, "a close code is an int"),
            (lambda: ws.close(reason=7), TypeError, "a close reason is a str or None"),
        ]:
            with pytest.raises(error, match=words):
                await call()
    with pytest.raises(TypeError, match="subprotocols is a list of str"):
        client.websocket_connect("/ws", subprotocols="chat")
    await client.aclose()
    with pytest.raises(ClientClosedError, match="was closed; make a new one"):
        await client.get("/")


@live.CHECK
async def test_a_bad_wait_idle_timeout_fails_at_the_call(make_client: Any) -> None:
    client = make_client(_echo_forever)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        await client.wait_idle("x")


@pytest.mark.parametrize("mode", ["in-process", "live"])
async def test_a_session_not_entered_says_so_at_every_call(mode: str, anyio_backend: str) -> None:
    """Every session class (sync and async, in-process and live) refuses a call made before
    its ``with``, with the same error."""
    import inspect

    with contextlib.ExitStack() as stack:
        if mode == "live":
            server = stack.enter_context(LiveServer(_echo_forever))
            clients: list[Any] = [server.client(), server.async_client()]
        else:
            clients = [TestClient(_echo_forever, backend=anyio_backend), AsyncTestClient(_echo_forever)]  # type: ignore[arg-type]
        for client in clients:
            ws = client.websocket_connect("/ws")
            for name, args in [("send_text", ("hi",)), ("receive", ()), ("receive_json", ("text", 1)), ("close", ())]:
                with pytest.raises(ClientClosedError, match="not connected; use it as a context manager"):
                    result = getattr(ws, name)(*args)
                    if inspect.isawaitable(result):
                        await result
            if isinstance(client, httpx2.AsyncClient):
                await client.aclose()
            else:
                client.close()


@pytest.mark.parametrize("client_class", [TestClient, AsyncTestClient])
def test_what_is_no_asgi_app_is_refused_at_construction(client_class: Any) -> None:
    def sync_app(scope: Scope, receive: Receive, send: Send) -> None:  # forgot `async`
        pass

    for app, words in [
        (42, "app must be an ASGI application"),
        (None, "app must be an ASGI application"),
        (object(), "app must be an ASGI application"),
        (sync_app, "is a plain function of \\(scope, receive, send\\): an ASGI app is `async def`"),
    ]:
        with pytest.raises(TypeError, match=words):
            client_class(app)


@live.CHECK
async def test_a_send_of_no_message_after_a_disconnect_names_what_was_sent(make_client: Any) -> None:
    sent: list[BaseException] = []

    async def sends_none(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        try:
            await send(None)  # type: ignore[arg-type]
        except Exception as exc:
            sent.append(exc)

    client = make_client(sends_none, grace_period=5)
    async with client.stream("GET", "/") as response:
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"a"
        await chunks.aclose()
    await client.aclose()
    assert [type(exc).__name__ for exc in sent] == ["ClientDisconnected"]
    assert "the app sent None" in str(sent[0])


async def test_a_denial_with_bytearray_headers_keeps_them(make_client: Any) -> None:
    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": [(bytearray(b"x-why"), b"no")]})
        await send({"type": "websocket.http.response.body", "body": b""})

    client = make_client(deny)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.headers["x-why"] == "no"


async def _stalls() -> None:
    await anyio.sleep_forever()  # where the app waits


@live.TIMEOUT
@pytest.mark.parametrize("where", ["streaming body", "yield dependency", "lifespan"])
async def test_where_the_app_waits_is_the_user_s_line_through_async_generators(make_client: Any, where: str) -> None:
    """Through `async for`, `anext()` and `async with` on generators, to the user's own frame."""
    import contextlib

    from fastapi import Depends, FastAPI
    from fastapi.responses import StreamingResponse

    async def body() -> Any:
        yield b"first"
        await _stalls()
        yield b"never"  # pragma: no cover

    async def dependency() -> Any:
        await _stalls()
        yield "never"  # pragma: no cover

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        await _stalls()
        yield  # pragma: no cover

    app = FastAPI(lifespan=lifespan if where == "lifespan" else None)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(body())

    @app.get("/depends")
    async def depends(value: str = Depends(dependency)) -> str:
        return value  # pragma: no cover

    client = make_client(app, timeout=0.2, grace_period=0.05)
    with pytest.raises(ASGITimeoutError) as caught:
        if where == "lifespan":
            async with client:
                pass  # pragma: no cover
        else:
            await client.get("/stream" if where == "streaming body" else "/depends")
    await client.aclose()
    assert "the app is awaiting sleep_forever() at test_misbehaving.py:" in str(caught.value)
    assert "(in _stalls)" in str(caught.value)


async def test_an_app_that_resists_cancellation_costs_the_cancel_limit_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection ended twice (its close, then its client's) waits for a resisting app once."""
    from asgitest import _runner

    monkeypatch.setattr(_runner, "CANCEL_TIMEOUT", 0.2)
    started, stop = anyio.Event(), anyio.Event()

    async def resists() -> None:
        started.set()
        with anyio.CancelScope(shield=True):  # a cleanup that outlives every cancellation
            await stop.wait()

    task = _runner.spawn("resists", resists)
    await started.wait()  # cancelled before it ran, the app would never run at all
    with pytest.raises(ASGITimeoutError, match=r"was still running 0\.2s later"):
        await task.finish(0)
    with anyio.fail_after(0.1):  # the second end does not wait the limit again
        assert not await task.finish(0)
    assert task.resisted
    stop.set()
    assert await task.wait(5)
