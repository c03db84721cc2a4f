"""WebSocket sessions through both clients."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import anyio
import pytest

from asgitest import (
    AppCancelledWarning,
    ASGIProtocolError,
    ASGITimeoutError,
    ClientClosedError,
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    UnclosedConnectionWarning,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)

from . import live
from .apps import jsonable_scope

pytestmark = pytest.mark.anyio


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts (with the first offered subprotocol and a header), echoes text and bytes, closes on 'bye'."""
    if scope["type"] != "websocket":  # no lifespan: a server goes on without
        raise ValueError(f"unsupported scope {scope['type']}")
    assert (await receive())["type"] == "websocket.connect"
    subprotocols = scope["subprotocols"]
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": subprotocols[0] if subprotocols else None,
            "headers": [(b"x-accepted", b"yes")],
        }
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "bye":
            await send({"type": "websocket.close", "code": 4001, "reason": "see you"})
            return
        if message.get("text") == "scope":
            import json

            await send({"type": "websocket.send", "text": json.dumps(jsonable_scope(scope))})
        elif message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def test_text_bytes_and_json_round_trips(make_client: Any) -> None:
    client = make_client(echo)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "hello"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes() == b"\x00\x01"
        await ws.send_json({"a": [1, "é"]})
        assert await ws.receive_json() == {"a": [1, "é"]}
        await ws.send_json({"b": 2}, mode="binary")
        assert await ws.receive_json(mode="binary") == {"b": 2}
        await ws.send({"type": "websocket.receive", "text": "raw"})
        assert await ws.receive() == {"type": "websocket.send", "text": "raw"}
    await client.aclose()


async def test_subprotocol_negotiation_and_accept_headers(make_client: Any) -> None:
    client = make_client(echo)
    async with client.websocket_connect("/ws", subprotocols=["chat.v2", "chat.v1"]) as ws:
        assert ws.accepted_subprotocol == "chat.v2"
        assert ws.extra_headers == [(b"x-accepted", b"yes")]
    async with client.websocket_connect("/ws") as ws:
        assert ws.accepted_subprotocol is None
    await client.aclose()


@live.SCOPE
async def test_websocket_scope_fidelity(make_client: Any) -> None:
    client = make_client(echo, root_path="/api")
    async with client.websocket_connect("/ws/room%201?token=t", subprotocols=["a", "b"]) as ws:
        await ws.send_text("scope")
        scope = await ws.receive_json()
    await client.aclose()
    assert scope["type"] == "websocket"
    assert scope["asgi"]["version"] == "3.0"
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == "ws"
    assert scope["path"] == "/ws/room 1"
    assert scope["raw_path"] == "/ws/room%201"
    assert scope["query_string"] == "token=t"
    assert scope["root_path"] == "/api"
    assert scope["client"] == ["testclient", 50000]
    assert scope["server"] == ["testserver", 80]
    assert scope["subprotocols"] == ["a", "b"]
    assert scope["state"] == {}
    assert "websocket.http.response" in scope["extensions"]
    headers = dict(scope["headers"])
    assert headers["connection"] == "upgrade"  # not the client's keep-alive: a handshake's own
    assert "upgrade" not in headers  # Starlette's client sends none either
    assert headers["sec-websocket-version"] == "13"
    assert headers["sec-websocket-protocol"] == "a, b"


@live.SCOPE
async def test_handshake_headers_given_to_the_call_are_kept(make_client: Any) -> None:
    client = make_client(echo, headers={"X-Client": "c"})
    own = {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "X-Call": "1", "Sec-WebSocket-Protocol": "mine"}
    async with client.websocket_connect("/ws", subprotocols=["ignored"], headers=own) as ws:
        await ws.send_text("scope")
        scope = await ws.receive_json()
    await client.aclose()
    headers = dict(scope["headers"])
    assert headers["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ=="
    assert headers["sec-websocket-protocol"] == "mine"
    assert (headers["x-call"], headers["x-client"], headers["connection"]) == ("1", "c", "upgrade")


@live.TIMEOUT
async def test_a_huge_receive_timeout_is_as_good_as_none(make_client: Any) -> None:
    client = make_client(echo, timeout=1e15)  # longer than a thread's lock can wait: clamped
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "hello"
        await ws.send_text("again")
        assert await ws.receive_text(timeout=1e15) == "again"
    await client.aclose()


async def test_the_app_closing_with_a_code_and_reason(make_client: Any) -> None:
    client = make_client(echo)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("bye")
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "see you")
        # Later calls see the same close, they do not hang.
        assert await ws.receive() == {"type": "websocket.close", "code": 4001, "reason": "see you"}
        with pytest.raises(WebSocketDisconnect):
            await ws.send_text("after close")
    await client.aclose()


@live.WAIT
async def test_the_test_closing_with_a_code_and_reason(make_client: Any) -> None:
    received: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        received.append(await receive())

    client = make_client(app)
    async with client.websocket_connect("/ws") as ws:
        await ws.close(code=4100, reason="done here")
        with pytest.raises(ClientClosedError):
            await ws.send_text("after close")
    await client.aclose()
    assert received == [{"type": "websocket.disconnect", "code": 4100, "reason": "done here"}]


@live.SERVER
async def test_closing_before_accept_raises_with_the_code(make_client: Any) -> None:
    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008, "reason": "policy"})

    client = make_client(refuse)
    with pytest.raises(WebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert (caught.value.code, caught.value.reason) == (1008, "policy")


@live.WAIT
@pytest.mark.parametrize("refusal", ["close", "denial"])
async def test_an_app_refusing_the_handshake_then_receives_a_disconnect(make_client: Any, refusal: str) -> None:
    """As under uvicorn: the connection ended with the handshake (1006: no close frame)."""
    after: list[Message] = []

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if refusal == "close":
            await send({"type": "websocket.close", "code": 4001})
        else:
            await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
            await send({"type": "websocket.http.response.body", "body": b""})
        after.append(await receive())

    client = make_client(refuse, grace_period=5)
    with pytest.raises(WebSocketDisconnect):
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert [(message["type"], message["code"]) for message in after] == [("websocket.disconnect", 1006)]


@live.DENIAL
async def test_denial_responses(make_client: Any) -> None:
    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        assert "websocket.http.response" in scope["extensions"]
        await send(
            {"type": "websocket.http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"entry"})

    client = make_client(deny)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 401
    assert caught.value.headers["content-type"] == "text/plain"
    assert caught.value.text == "no entry"
    assert isinstance(caught.value, WebSocketDisconnect)


@live.DENIAL
@pytest.mark.parametrize("how", ["after-awaits", "file-response"])
async def test_a_denial_body_sent_later_is_kept_whole(make_client: Any, how: str, tmp_path: Any) -> None:
    """The body of a denial response is read to its end, however long the app takes to send it."""
    from starlette.responses import FileResponse
    from starlette.websockets import WebSocket

    page = tmp_path / "denied.txt"
    page.write_bytes(b"denied, " * 4096)

    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        if how == "file-response":  # Starlette reads the file in a worker thread, in chunks
            await WebSocket(scope, receive, send).send_denial_response(FileResponse(page))
            return
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        for part in (b"no ", b"entry"):
            await anyio.sleep(0.01)  # the app works between its sends
            await send({"type": "websocket.http.response.body", "body": part, "more_body": part == b"no "})

    client = make_client(deny)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.content == (page.read_bytes() if how == "file-response" else b"no entry")


@live.CHECK
async def test_a_second_denial_start_is_a_protocol_error(make_client: Any) -> None:
    async def deny_twice(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        with contextlib.suppress(ASGIProtocolError):  # swallowed: the test still hears of it
            await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})

    client = make_client(deny_twice)
    with pytest.raises(ASGIProtocolError) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.rule == "ws-denial-in-handshake"


async def test_a_session_s_scope_is_the_dict_the_app_received(make_client: Any) -> None:
    async def annotate(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        scope["user"] = "ada"  # a framework's hook writing into the connection's scope
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "ready"})
        await receive()

    client = make_client(annotate)
    async with client.websocket_connect("/ws?room=1") as ws:
        assert await ws.receive_text() == "ready"
        assert (ws.scope["type"], ws.scope["path"], ws.scope["query_string"]) == ("websocket", "/ws", b"room=1")
        assert ws.scope["user"] == "ada"
    await client.aclose()


async def test_websocket_connect_takes_a_request_s_arguments(make_client: Any) -> None:
    """As Starlette's client does: auth adds its headers; the rest is accepted."""
    client = make_client(echo)
    async with client.websocket_connect(
        "/ws", auth=("ada", "secret"), follow_redirects=False, extensions={"custom": 1}
    ) as ws:
        await ws.send_text("scope")
        scope = await ws.receive_json()
    await client.aclose()
    assert dict(scope["headers"])["authorization"] == "Basic YWRhOnNlY3JldA=="


@live.SERVER
async def test_returning_without_accepting_is_a_403_denial(make_client: Any) -> None:
    async def leave(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    client = make_client(leave)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 403


async def test_returning_without_closing_is_an_abnormal_close(make_client: Any) -> None:
    async def hang_up(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "last words"})

    client = make_client(hang_up)
    async with client.websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "last words"
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert caught.value.code == 1006
    await client.aclose()


class Boom(Exception):
    pass


@live.RAISE
async def test_app_exceptions_surface(make_client: Any) -> None:
    async def crash(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if scope["path"] == "/early":
            raise Boom("before accept")
        await send({"type": "websocket.accept"})
        await receive()
        raise Boom("after a message")

    client = make_client(crash)
    with pytest.raises(Boom, match="before accept"):
        async with client.websocket_connect("/early"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    with pytest.raises(Boom, match="after a message"):
        async with client.websocket_connect("/late") as ws:
            await ws.send_text("go")
            await ws.receive_text()
    await client.aclose()

    client = make_client(crash, raise_server_exceptions=False)
    async with client.websocket_connect("/late") as ws:
        await ws.send_text("go")
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert caught.value.code == 1011
    await client.aclose()


@live.CHECK
async def test_protocol_violations_are_named(make_client: Any) -> None:
    async def early_send(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    client = make_client(early_send)
    with pytest.raises(ASGIProtocolError, match=r"\[ws-send-after-accept\] broken"):
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()


async def test_receive_times_out_and_the_session_stays_usable(make_client: Any) -> None:
    client = make_client(echo, timeout=0.1)
    async with client.websocket_connect("/ws/quiet") as ws:
        started = time.monotonic()
        with pytest.raises(
            ASGITimeoutError, match=r"WebSocket /ws/quiet .*waiting for a message from the app"
        ) as caught:
            await ws.receive_text()
        assert time.monotonic() - started < 2
        assert isinstance(caught.value, TimeoutError)
        with pytest.raises(ASGITimeoutError, match=r"after 0\.05s"):
            await ws.receive(timeout=0.05)
        await ws.send_text("still alive")
        assert await ws.receive_text(timeout=2) == "still alive"
    await client.aclose()


async def test_accept_times_out(make_client: Any) -> None:
    async def never_accepts(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":  # no lifespan: a server goes on without
            raise ValueError(f"unsupported scope {scope['type']}")
        await receive()
        await anyio.sleep_forever()

    client = make_client(never_accepts, timeout=0.1, grace_period=0)
    with pytest.raises(ASGITimeoutError, match="waiting for the app to accept the WebSocket"):
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()


@live.WAIT
async def test_the_app_finishes_its_cleanup_after_a_close(make_client: Any) -> None:
    cleaned: list[str] = []

    async def slow_cleanup(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        assert message["type"] == "websocket.disconnect"
        await anyio.sleep(0.05)  # async cleanup, e.g. deregistering from a broker
        cleaned.append("done")

    client = make_client(slow_cleanup)
    async with client.websocket_connect("/ws"):
        pass
    assert cleaned == ["done"]
    await client.aclose()


@live.TIMEOUT
async def test_an_app_ignoring_the_close_is_cancelled_after_the_grace_period(make_client: Any) -> None:
    outcome: list[str] = []

    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await anyio.sleep_forever()
        finally:
            outcome.append("cancelled")

    client = make_client(stubborn, grace_period=0.05)
    with pytest.warns(
        AppCancelledWarning, match=r"WebSocket /ws .*still running 0\.05s after the connection was closed"
    ):
        async with client.websocket_connect("/ws"):
            pass
    assert outcome == ["cancelled"]
    await client.aclose()


@live.WAIT
async def test_sending_after_the_test_closed_raises_client_disconnected_in_the_app(make_client: Any) -> None:
    errors: list[BaseException] = []

    async def late_sender(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()  # the disconnect
        try:
            await send({"type": "websocket.send", "text": "anyone there?"})
        except OSError as exc:
            # Without its traceback: the app's frames would keep its receive/send alive.
            errors.append(exc.with_traceback(None))

    client = make_client(late_sender)
    async with client.websocket_connect("/lobby"):
        pass
    await client.aclose()
    [error] = errors
    assert isinstance(error, ClientDisconnected)
    message = str(error)
    assert "WebSocket /lobby" in message
    assert "testclient:50000" in message
    assert "closed by the test with code 1000" in message
    assert "keeps closed connections" in message


async def test_messages_from_a_background_task_are_buffered(make_client: Any) -> None:
    async def chatty(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        for number in range(500):  # never blocks on the test
            await send({"type": "websocket.send", "text": str(number)})
        await receive()

    client = make_client(chatty)
    async with client.websocket_connect("/ws") as ws:
        assert [await ws.receive_text() for _ in range(500)] == [str(n) for n in range(500)]
    await client.aclose()


@live.WAIT
async def test_sends_reach_the_app_in_order_before_a_close(make_client: Any) -> None:
    received: list[Any] = []

    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                received.append(("closed", message["code"]))
                return
            received.append(message.get("text", message.get("bytes")))

    client = make_client(recorder)
    async with client.websocket_connect("/ws") as ws:
        for number in range(200):
            await ws.send_text(str(number))
        await ws.send_bytes(b"raw")
        await ws.send_json({"n": 1}, mode="binary")
        await ws.close(4000)
    assert received == [*(str(n) for n in range(200)), b"raw", b'{"n":1}', ("closed", 4000)]
    await client.aclose()


async def test_a_receive_waiting_is_woken_by_a_later_message(make_client: Any) -> None:
    async def delayed(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await anyio.sleep(0.05)  # simulated work: the test is already waiting
        await send({"type": "websocket.send", "text": message["text"].upper()})
        await send({"type": "websocket.close", "code": 4002})

    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("late")
        assert await ws.receive_text(timeout=5) == "LATE"
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text(timeout=5)
        assert caught.value.code == 4002
    await client.aclose()


@live.CHECK
async def test_sessions_left_open_are_closed_with_the_client(make_client: Any) -> None:
    received: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        received.append((await receive())["type"])

    client = make_client(app)
    for _ in range(2):
        session = client.websocket_connect("/ws")
        await session.__aenter__()
    with pytest.warns(UnclosedConnectionWarning, match=r"^WebSocket session to /ws: 2 left open by the test"):
        await client.aclose()
    assert received == ["websocket.disconnect"] * 2


@live.TIMEOUT
async def test_an_app_that_resists_cancellation_is_reported_not_waited_for(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("asgitest._runner.CANCEL_TIMEOUT", 0.1)

    async def resists(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.5)  # a cleanup that outlives the grace period and the cancellation

    client = make_client(resists, grace_period=0.05)
    started = time.monotonic()
    with pytest.raises(ASGITimeoutError, match=r"was still running 0\.1s later"):
        async with client.websocket_connect("/ws"):
            pass
    assert time.monotonic() - started < 0.45
    await client.aclose()


@live.SERVER
async def test_the_app_s_sends_go_through_until_it_receives_the_test_s_close(make_client: Any) -> None:
    """Messages the test sent before closing are still the app's to answer, as frames before a
    close frame are; only once it has received the close do its sends fail."""
    outcomes: list[str] = []

    async def answers(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await anyio.sleep(0.01)  # works on the message while the test's close arrives
        await send({"type": "websocket.send", "text": f"got {message['text']}"})
        outcomes.append("answered")
        outcomes.append((await receive())["type"])
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except ClientDisconnected:
            outcomes.append("refused")

    client = make_client(answers)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("last words")
    await client.aclose()
    assert outcomes == ["answered", "websocket.disconnect", "refused"]


@live.RAISE
async def test_what_the_app_lets_escape_after_the_test_closed_is_raised_at_the_exit(make_client: Any) -> None:
    """As Starlette's client does, and FastAPI's WebSocket tutorial tests expect: the
    endpoint's receive_text() raises WebSocketDisconnect on the close, and it escapes."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket
    from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect

    async def endpoint(websocket: WebSocket) -> None:  # as FastAPI's tutorial writes it
        await websocket.accept()
        while True:
            await websocket.send_text(f"echo: {await websocket.receive_text()}")

    client = make_client(Starlette(routes=[WebSocketRoute("/ws", endpoint)]))
    with pytest.raises(StarletteWebSocketDisconnect) as caught:  # the app's own exception
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "echo: hi"
    await client.aclose()
    assert caught.value.code == 1000


async def test_a_session_left_with_an_exception_warns_of_nothing_more(make_client: Any) -> None:
    """The test's own exception says what went wrong; the app cancelled because of it is no news."""

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await anyio.sleep_forever()  # never answers, never notices the close

    client = make_client(silent, strict=True, timeout=0.1, grace_period=0.05)
    with pytest.raises(ASGITimeoutError):
        async with client.websocket_connect("/ws") as ws:
            await ws.receive_text()
    await client.aclose()  # no AppCancelledWarning (filterwarnings = error would raise it here)


@live.TIMEOUT
async def test_a_denial_response_whose_body_never_ends_times_out(make_client: Any) -> None:
    async def denies_slowly(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
        await anyio.sleep_forever()

    client = make_client(denies_slowly, timeout=0.1)
    with pytest.raises(ASGITimeoutError, match="the body of the app's denial response"):
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake is denied")  # pragma: no cover
    await client.aclose()


async def test_a_broadcast_to_a_socket_the_test_closed_is_an_error_of_the_app(make_client: Any) -> None:
    """The app keeps a closed socket and broadcasts to it from an HTTP request. In-process, the
    request raises the disconnect; live, the request is uvicorn's 500 and the disconnect is
    raised at the client's next call: a disconnect is the app's way out only on a connection
    whose own client left."""
    kept: list[Send] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise ValueError("no lifespan")
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            kept.append(send)  # and never removed: the bug under test
            await receive()
            return
        for socket_send in kept:
            await socket_send({"type": "websocket.send", "text": "news"})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"sent"})

    client = make_client(app, strict=False)
    async with client.websocket_connect("/ws"):
        pass
    with pytest.raises(OSError) as caught:  # noqa: PT011 - its message is the server's
        response = await client.post("/broadcast")
        assert response.status_code == 500  # live: the server answered for the app
        await client.get("/next")
    assert type(caught.value).__name__ == "ClientDisconnected"  # asgitest's in-process, uvicorn's live
    await client.aclose()
