"""direct: the app called with hand-made receive/send, the floor any in-process client adds to.

A :class:`DirectDriver` stands where the async clients' drivers stand (:mod:`.drivers`),
with a request, a WebSocket over two queues, and the app's lifespan run around it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from .apps import Message
from .drivers import AsyncSocket, Driver


def http_scope(method: str, path: str, body: bytes) -> Message:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }


async def direct_request(app: Starlette, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request: returns when the app returns (after its background tasks), like the clients."""
    status = 0
    chunks: list[bytes] = []
    request_sent = False
    complete = asyncio.Event()

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                complete.set()

    await app(http_scope(method, path, body), receive, send)
    return status, b"".join(chunks)


class DirectWebSocket:
    """A WebSocket to the app over two asyncio queues."""

    def __init__(self, app: Starlette, path: str) -> None:
        self.app = app
        self.scope: Message = {
            **http_scope("GET", path, b""),
            "type": "websocket",
            "scheme": "ws",
            "subprotocols": [],
        }
        del self.scope["method"]
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.to_test: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: Message) -> None:
        self.to_test.put_nowait(message)

    async def __aenter__(self) -> DirectWebSocket:
        self.to_app.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(self.app(self.scope, self.to_app.get, self._send))
        assert (await self.to_test.get())["type"] == "websocket.accept"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        assert self.task is not None
        await self.task

    async def send_text(self, data: str) -> None:
        self.to_app.put_nowait({"type": "websocket.receive", "text": data})

    async def receive_text(self) -> str:
        return str((await self.to_test.get())["text"])


class DirectDriver:
    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        return await direct_request(self.app, method, path, body)

    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]:
        return DirectWebSocket(self.app, path)

    async def count_events(self, path: str) -> int:
        """The floor: count the ``data:`` lines of the collected body, with no parser."""
        status, body = await direct_request(self.app, "GET", path)
        assert status == 200
        return sum(1 for event in body.split(b"\n\n") if event.startswith(b"data:"))


@contextlib.asynccontextmanager
async def direct_driver(app: Starlette) -> AsyncIterator[Driver]:
    """Runs the app's lifespan around a :class:`DirectDriver`."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    to_test: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        to_test.put_nowait(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, send))
    to_app.put_nowait({"type": "lifespan.startup"})
    assert (await to_test.get())["type"] == "lifespan.startup.complete"
    yield DirectDriver(app)
    to_app.put_nowait({"type": "lifespan.shutdown"})
    assert (await to_test.get())["type"] == "lifespan.shutdown.complete"
    await task
