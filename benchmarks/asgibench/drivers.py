"""The async clients, each behind one small driver interface, so every async scenario is written once.

:class:`Driver` is what an async scenario needs from a client; each async contender
(but ``direct``, in :mod:`.direct`) has a driver class here and a :data:`DriverFactory`
that opens its client on an app.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import httpx2
from httpx2._sse import _SSEParser  # the parser of httpx2's EventSource, which client.sse uses
from starlette.applications import Starlette

import asgitest

from .apps import BASE_URL
from .floor import AsyncCannedTransport


class AsyncSocket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def receive_text(self) -> str: ...


class Driver(Protocol):
    """What the async scenarios need from a client."""

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """One request; returns the status and the whole body."""
        ...

    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]: ...

    async def count_events(self, path: str) -> int:
        """Read the server-sent events of ``path``; return how many there were."""
        ...


#: Opens a client on an app (running its lifespan, where the client can) and gives its driver.
DriverFactory = Callable[[Starlette], contextlib.AbstractAsyncContextManager[Driver]]


class HttpxDriver:
    """Any ``httpx2.AsyncClient``: requests and ``client.sse``; no WebSockets."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        response = await self.client.request(method, path, content=body or None)
        return response.status_code, response.content

    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]:
        raise NotImplementedError(f"{type(self.client).__name__} has no WebSockets")

    async def count_events(self, path: str) -> int:
        count = 0
        async with self.client.sse(path) as source:
            async for _event in source:
                count += 1
        return count


class AsgitestDriver(HttpxDriver):
    client: asgitest.AsyncTestClient

    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]:
        return self.client.websocket_connect(path)


class Httpx2WebSocketDriver(HttpxDriver):
    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]:
        from httpx2.websockets import AsyncWebSocketClient

        return AsyncWebSocketClient(self.client, keepalive_ping_interval_seconds=None).connect(path)


class AsyncAsgiTestClientDriver:
    """``async_asgi_testclient.TestClient`` (untyped, hence ``Any``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        response = await self.client.open(path, method=method, data=body or None)
        return int(response.status_code), bytes(response.content)

    def websocket(self, path: str) -> contextlib.AbstractAsyncContextManager[AsyncSocket]:
        return self.client.websocket_connect(path)  # type: ignore[no-any-return]

    async def count_events(self, path: str) -> int:
        response = await self.client.get(path, stream=True)
        return await count_sse_events(response.iter_content(None))


async def count_sse_events(chunks: AsyncIterator[bytes]) -> int:
    """Parse a streamed body as httpx2's ``EventSource`` does, chunk by chunk; count the events."""
    parser, text = _SSEParser(), codecs.getincrementaldecoder("utf-8")()
    count = 0
    async for chunk in chunks:
        count += sum(1 for _event in parser.decode(text.decode(chunk)))
    return count + sum(1 for _event in parser.flush())


@contextlib.asynccontextmanager
async def asgitest_driver(app: Starlette, **options: Any) -> AsyncIterator[Driver]:
    async with asgitest.AsyncTestClient(app, **options) as client:
        yield AsgitestDriver(client)


@contextlib.asynccontextmanager
async def httpx2_asgi_driver(app: Starlette) -> AsyncIterator[Driver]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield HttpxDriver(client)


@contextlib.asynccontextmanager
async def httpx2_ws_driver(app: Starlette) -> AsyncIterator[Driver]:
    from httpx2.websockets import ASGIWebSocketTransport

    async with httpx2.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url=BASE_URL) as client:
        yield Httpx2WebSocketDriver(client)


@contextlib.asynccontextmanager
async def httpx2_floor_driver(app: Starlette) -> AsyncIterator[Driver]:
    async with httpx2.AsyncClient(transport=AsyncCannedTransport(), base_url=BASE_URL) as client:
        yield HttpxDriver(client)


@contextlib.asynccontextmanager
async def async_asgi_testclient_driver(app: Starlette) -> AsyncIterator[Driver]:
    from async_asgi_testclient import TestClient

    async with TestClient(app) as client:
        yield AsyncAsgiTestClientDriver(client)
