"""``drop()``: a WebSocket connection lost without a close frame, on every session class."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from asgitest import ClientClosedError, Receive, Scope, Send
from asgitest.pytest_plugin import is_live

from . import live

pytestmark = pytest.mark.anyio


class Watched:
    """An app that records what its ``receive()`` gave after the accept, and what its next
    send raised; ``done`` is set once it has (a threading event: a live server runs the app
    on its own loop, in another thread)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.send_raised: BaseException | None = None
        self.done = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f"unsupported scope {scope['type']}")
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        try:
            while True:
                message = dict(await receive())
                self.received.append(message)
                if message["type"] == "websocket.disconnect":
                    break
                await send({"type": "websocket.send", "text": message.get("text") or ""})
            try:
                await send({"type": "websocket.send", "text": "anyone there?"})
            except Exception as exc:  # what a send on a lost connection raises
                self.send_raised = exc
        finally:
            self.done.set()


async def _finished(app: Watched) -> None:
    assert await anyio.to_thread.run_sync(app.done.wait, 10), "the app did not see the drop"


async def test_a_drop_reaches_the_app_as_an_abnormal_closure(make_client: Any, request: pytest.FixtureRequest) -> None:
    app = Watched()
    client = make_client(app)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
        await ws.drop()
        await _finished(app)
    await client.aclose()
    assert app.received[0] == {"type": "websocket.receive", "text": "hi"}
    disconnect = app.received[-1]
    assert disconnect["type"] == "websocket.disconnect"
    # 1006 (RFC 6455, 7.1.5: closed without a close frame); uvicorn's wsproto and sans-I/O
    # implementations say 1005 for a connection lost after the handshake (docs/live.md).
    assert disconnect["code"] == 1006 or (is_live(request.node) and disconnect["code"] == 1005)
    assert isinstance(app.send_raised, OSError), app.send_raised  # ClientDisconnected, or uvicorn's


async def test_after_a_drop_the_session_is_closed(make_client: Any) -> None:
    app = Watched()
    client = make_client(app)
    async with client.websocket_connect("/ws") as ws:
        await ws.drop()
        for name, args in [("send_text", ("hi",)), ("receive", ()), ("expect_nothing", (0.05,))]:
            with pytest.raises(ClientClosedError, match="dropped by the test"):
                await getattr(ws, name)(*args)
        await ws.drop()  # a second drop, or a close, does nothing more
        await ws.close()
        await _finished(app)
    await client.aclose()


@live.WAIT
async def test_the_app_has_seen_the_drop_when_it_returns(make_client: Any) -> None:
    """In-process, ``drop()`` gives the app its grace period, as ``close()`` does: its cleanup
    is done when the call returns."""
    app = Watched()
    client = make_client(app)
    async with client.websocket_connect("/ws") as ws:
        await ws.drop()
        assert app.done.is_set()
        assert app.received == [{"type": "websocket.disconnect", "code": 1006, "reason": None}]
        assert "dropped by the test (no close frame)" in str(app.send_raised)
    await client.aclose()
