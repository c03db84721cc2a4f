"""One op of each scenario, sync and async: sessions that yield a function running ``n`` ops.

A session is a context manager: entering it makes the app and opens what the scenario
keeps open (the client, its sockets), it yields ``run(n)``, and leaving it closes
everything (``lifecycle`` opens and closes a client in each op instead). The sync
sessions take a client factory, the async ones a :data:`~.drivers.DriverFactory`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette

from .apps import BROADCAST_SOCKETS, SSE_EVENTS, UPLOAD_BODY, UPLOAD_SIZE, check_no_sockets_left, make_app
from .drivers import AsyncSocket, Driver, DriverFactory

SyncOp = Callable[[int], None]
AsyncOp = Callable[[int], Awaitable[None]]


# -- the sync clients: asgitest's, Starlette's and httpx2's Client share one API ------------------

SyncClientFactory = Callable[[Starlette], Any]
SyncSession = Callable[[SyncClientFactory], contextlib.AbstractContextManager[SyncOp]]


@contextlib.contextmanager
def sync_get(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    with make_client(make_app()) as client:

        def run(n: int) -> None:
            for _ in range(n):
                assert client.get("/json").status_code == 200

        yield run


@contextlib.contextmanager
def sync_upload(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    with make_client(make_app()) as client:

        def run(n: int) -> None:
            for _ in range(n):
                assert client.post("/upload", content=UPLOAD_BODY).json()["length"] == UPLOAD_SIZE

        yield run


@contextlib.contextmanager
def sync_echo(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    with make_client(make_app()) as client, client.websocket_connect("/echo") as ws:

        def run(n: int) -> None:
            for _ in range(n):
                ws.send_text("ping")
                assert ws.receive_text() == "ping"

        yield run


@contextlib.contextmanager
def sync_broadcast(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    app = make_app()
    with make_client(app) as client, contextlib.ExitStack() as sockets:
        room = [sockets.enter_context(client.websocket_connect("/room")) for _ in range(BROADCAST_SOCKETS)]
        for ws in room:
            assert ws.receive_text() == "ready"

        def run(n: int) -> None:
            for i in range(n):
                text = f"news {i}"
                assert client.post("/broadcast", content=text).json()["sockets"] == BROADCAST_SOCKETS
                for ws in room:
                    assert ws.receive_text() == text

        yield run
    check_no_sockets_left(app)


@contextlib.contextmanager
def sync_sse(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    with make_client(make_app()) as client:

        def run(n: int) -> None:
            for _ in range(n):
                count = 0
                with client.sse("/events") as source:
                    for _event in source:
                        count += 1
                assert count == SSE_EVENTS, count

        yield run


@contextlib.contextmanager
def sync_lifecycle(make_client: SyncClientFactory) -> Iterator[SyncOp]:
    app = make_app()

    def run(n: int) -> None:
        for _ in range(n):
            with make_client(app) as client:
                assert client.get("/json").status_code == 200

    yield run


# -- the async scenarios, written once over a driver ----------------------------------------------

AsyncSession = Callable[[DriverFactory], contextlib.AbstractAsyncContextManager[AsyncOp]]


@contextlib.asynccontextmanager
async def async_get(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    async with open_driver(make_app()) as driver:

        async def run(n: int) -> None:
            for _ in range(n):
                status, _ = await driver.request("GET", "/json")
                assert status == 200

        yield run


@contextlib.asynccontextmanager
async def async_upload(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    async with open_driver(make_app()) as driver:

        async def run(n: int) -> None:
            for _ in range(n):
                _, body = await driver.request("POST", "/upload", UPLOAD_BODY)
                assert json.loads(body)["length"] == UPLOAD_SIZE

        yield run


@contextlib.asynccontextmanager
async def async_echo(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    async with open_driver(make_app()) as driver, driver.websocket("/echo") as ws:

        async def run(n: int) -> None:
            for _ in range(n):
                await ws.send_text("ping")
                assert await ws.receive_text() == "ping"

        yield run


async def open_room(driver: Driver, sockets: contextlib.AsyncExitStack, count: int) -> list[AsyncSocket]:
    """``count`` sockets joined to ``/room``, each having received its ``ready``."""
    room = [await sockets.enter_async_context(driver.websocket("/room")) for _ in range(count)]
    for ws in room:
        assert await ws.receive_text() == "ready"
    return room


async def broadcast_once(driver: Driver, room: list[AsyncSocket], text: str) -> None:
    """POST ``text`` to ``/broadcast``; every socket of ``room`` receives it."""
    _, body = await driver.request("POST", "/broadcast", text.encode())
    assert json.loads(body)["sockets"] == len(room)
    for ws in room:
        assert await ws.receive_text() == text


@contextlib.asynccontextmanager
async def async_broadcast(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    app = make_app()
    async with open_driver(app) as driver, contextlib.AsyncExitStack() as sockets:
        room = await open_room(driver, sockets, BROADCAST_SOCKETS)

        async def run(n: int) -> None:
            for i in range(n):
                await broadcast_once(driver, room, f"news {i}")

        yield run
    check_no_sockets_left(app)


@contextlib.asynccontextmanager
async def async_sse(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    async with open_driver(make_app()) as driver:

        async def run(n: int) -> None:
            for _ in range(n):
                count = await driver.count_events("/events")
                assert count == SSE_EVENTS, count

        yield run


@contextlib.asynccontextmanager
async def async_lifecycle(open_driver: DriverFactory) -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            async with open_driver(app) as driver:
                status, _ = await driver.request("GET", "/json")
                assert status == 200

    yield run
