"""``expect_nothing``: asserting that the app sends nothing for a while, on every session class."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from asgitest import (
    ClientClosedError,
    Receive,
    Scope,
    Send,
    UnexpectedMessage,
    WebSocketDisconnect,
)

from . import live

pytestmark = pytest.mark.anyio


async def delayed(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts; "later" is answered "late" 20 ms later, "now" at once, "bye" with a close (4001),
    "boom" with an exception."""
    if scope["type"] != "websocket":
        raise ValueError(f"unsupported scope {scope['type']}")
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text == "later":
            await anyio.sleep(0.02)  # the app's own work, not a wait of the test
            await send({"type": "websocket.send", "text": "late"})
        elif text == "now":
            await send({"type": "websocket.send", "text": "at once"})
        elif text == "bye":
            await anyio.sleep(0.02)
            await send({"type": "websocket.close", "code": 4001, "reason": "see you"})
            return
        elif text == "boom":
            raise RuntimeError("the app broke")


async def test_a_silent_window_returns_none_after_the_whole_window(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        began = time.monotonic()
        assert await ws.expect_nothing(within=0.1) is None
        assert time.monotonic() - began >= 0.1
        await ws.send_text("now")  # the session goes on as before
        assert await ws.receive_text() == "at once"
    await client.aclose()


async def test_a_message_within_the_window_raises_and_stays_queued(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("later")
        with pytest.raises(UnexpectedMessage, match=r"expected nothing from the app for 5\.0s, but it sent") as caught:
            await ws.expect_nothing(within=5)
        assert isinstance(caught.value, AssertionError)
        assert caught.value.message == {"type": "websocket.send", "text": "late"}
        assert "{'type': 'websocket.send', 'text': 'late'}" in str(caught.value)
        assert await ws.receive_text() == "late"  # still there for the next receive
        assert await ws.expect_nothing(within=0.05) is None  # taken now: nothing is left
    await client.aclose()


async def test_a_message_sent_before_the_call_raises_at_once(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("now")
        assert await ws.receive_text() == "at once"
        await ws.send_text("now")
        began = time.monotonic()
        with pytest.raises(UnexpectedMessage):
            await ws.expect_nothing(within=30)
        assert time.monotonic() - began < 10  # not the window: the message was there
        assert await ws.receive_text() == "at once"
    await client.aclose()


async def test_a_close_within_the_window_raises_and_receive_still_gives_it(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("bye")
        with pytest.raises(UnexpectedMessage, match="it closed the connection") as caught:
            await ws.expect_nothing(within=5)
        assert caught.value.message["type"] == "websocket.close"
        assert caught.value.message["code"] == 4001
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
        assert (closed.value.code, closed.value.reason) == (4001, "see you")
        with pytest.raises(UnexpectedMessage, match="it closed the connection"):
            await ws.expect_nothing(within=0.05)  # the close is what a receive gives now
    await client.aclose()


async def test_a_bad_window_fails_at_the_call(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        for within, error in [
            (0, ValueError),
            (-1, ValueError),
            (float("nan"), ValueError),
            (float("inf"), ValueError),
            ("1", TypeError),
            (True, TypeError),
            (None, TypeError),
        ]:
            with pytest.raises(error, match="within must be a"):
                await ws.expect_nothing(within=within)
        await ws.send_text("now")  # the session is unharmed
        assert await ws.receive_text() == "at once"
    await client.aclose()


async def test_after_the_test_closed_the_session_says_so(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.close()
        with pytest.raises(ClientClosedError, match="closed by the test"):
            await ws.expect_nothing(within=0.05)
    await client.aclose()


@live.CHECK
async def test_the_error_ends_with_the_connection_s_events(make_client: Any) -> None:
    client = make_client(delayed)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("later")
        with pytest.raises(UnexpectedMessage) as caught:
            await ws.expect_nothing(within=5)
        text = str(caught.value)
        assert "last ASGI events of WebSocket /ws" in text
        assert "app <- websocket.receive text='later'" in text or "websocket.receive text='later'" in text
        assert text.rstrip().endswith("websocket.send text='late'")
        await ws.receive_text()
    await client.aclose()


@live.RAISE
async def test_an_app_that_fails_within_the_window_raises_its_exception(make_client: Any) -> None:
    client = make_client(delayed)
    with pytest.raises(RuntimeError, match="the app broke"):
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("boom")
            await ws.expect_nothing(within=5)
    await client.aclose()


def test_a_long_message_is_shown_cut_with_its_length() -> None:
    from asgitest._websocket_messages import unexpected

    error = unexpected("WebSocket /ws", {"type": "websocket.send", "text": "x" * 1000}, 0.5, "")
    assert f"... ({len(repr(error.message))} chars)" in str(error)
    assert len(str(error)) < 500
    assert error.message == {"type": "websocket.send", "text": "x" * 1000}
    assert str(error).endswith("(it stays queued: the next receive*() returns it)")
