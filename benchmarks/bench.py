"""Side-by-side throughput of asgitest, Starlette's TestClient and other ASGI clients, in one process.

Contenders (each runs the scenarios its client can run; an optional one that is not
installed is reported as such and skipped):

* ``asgitest``: ``asgitest.TestClient`` (sync, entered with ``with``);
* ``starlette``: ``starlette.testclient.TestClient`` (sync, entered with ``with``);
* ``httpx2-floor-sync``: an ``httpx2.Client`` whose transport returns a canned response
  without any ASGI (``get`` only): the cost of httpx2 itself, the floor of a sync client;
* ``asgitest-async``: ``asgitest.AsyncTestClient`` on an asyncio loop;
* ``httpx2-asgi``: ``httpx2.AsyncClient`` over ``httpx2.ASGITransport`` (it buffers the
  whole body before returning, ``sse`` included; it has no WebSockets and no lifespan);
* ``httpx2-ws``: ``httpx2.AsyncClient`` over ``httpx2.websockets.ASGIWebSocketTransport``
  (WebSocket scenarios; needs ``wsproto``);
* ``httpx2-floor``: the async do-nothing floor, as ``httpx2-floor-sync`` (``get`` only);
* ``async-asgi-testclient``: its ``TestClient`` (optional; ``sse`` reads its streaming
  response through httpx2's SSE parser, the one ``client.sse`` uses);
* ``direct``: the ASGI app called directly with hand-made ``receive``/``send`` (async):
  the floor any in-process client adds its overhead to.

Each scenario opens every contender, warms it up (which also sizes its rounds), then
runs the rounds interleaved (the order rotates each round) and reports the median
ops/s. The targets compare contenders measured in the same scenario, so they are
ratios taken side by side. Async contenders each own an asyncio loop, which runs only
while they are measured, and run their session in one task, as ``asyncio.run`` would.

The ``checks-*`` scenarios measure what asgitest's protocol checks (``strict=True`` vs
``strict=False``) and its transcripts (recording replaced by no-ops) cost. The scale
scenarios open many WebSockets on one client and run long sequences of GETs, reporting
RSS and ops/s per slice.

Usage: ``python benchmarks/bench.py [--quick] [--scale] [--rounds N] [--only SCENARIO ...]
[--cpu N] [--json PATH] [--chart PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import functools
import gc
import importlib.util
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from unittest import mock

import httpx2
from httpx2._sse import _SSEParser  # the parser of httpx2's EventSource, which client.sse uses
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient as StarletteTestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

import asgitest
from asgitest._protocol._transcript import Transcript

Message = MutableMapping[str, Any]
SyncOp = Callable[[int], None]
AsyncOp = Callable[[int], Awaitable[None]]

BASE_URL = "http://testserver"
JSON_BODY = b'{"hello":"world"}'
UPLOAD_SIZE = 64 * 1024
UPLOAD_BODY = b"x" * UPLOAD_SIZE
BROADCAST_SOCKETS = 20
SSE_EVENTS = 1000


# -- the app ---------------------------------------------------------------------------------


async def event_stream() -> AsyncIterator[str]:
    """The ``/events`` body: ``SSE_EVENTS`` server-sent events, one per chunk."""
    for i in range(SSE_EVENTS):
        yield f"data: {i}\n\n"


def make_app() -> Starlette:
    """A small Starlette app; each contender gets its own, so no state is shared."""
    sockets: list[WebSocket] = []

    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    async def upload(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"length": len(body)})

    async def send_all(text: str) -> None:
        for socket in list(sockets):
            await socket.send_text(text)

    async def broadcast(request: Request) -> Response:
        text = (await request.body()).decode()
        return JSONResponse({"sockets": len(sockets)}, background=BackgroundTask(send_all, text))

    async def events(request: Request) -> Response:
        return StreamingResponse(event_stream(), media_type="text/event-stream")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    async def room(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.append(websocket)
        try:
            await websocket.send_text("ready")
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            sockets.remove(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield

    app = Starlette(
        routes=[
            Route("/json", hello),
            Route("/upload", upload, methods=["POST"]),
            Route("/broadcast", broadcast, methods=["POST"]),
            Route("/events", events),
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/room", room),
        ],
        lifespan=lifespan,
    )
    app.state.sockets = sockets
    return app


def check_no_sockets_left(app: Starlette) -> None:
    left = len(app.state.sockets)
    if left:
        print(f"warning: the app still holds {left} socket(s) after its client closed", file=sys.stderr)


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


# -- the do-nothing floor: httpx2 clients whose transport never reaches an app -------------------


def canned_response() -> httpx2.Response:
    """What ``/json`` answers, made without any ASGI."""
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=JSON_BODY)


class CannedTransport(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return canned_response()


class AsyncCannedTransport(httpx2.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return canned_response()


def floor_client(app: Starlette) -> httpx2.Client:
    """A sync httpx2 client that ignores ``app``: what httpx2 alone costs per request."""
    return httpx2.Client(transport=CannedTransport(), base_url=BASE_URL)


# -- the async clients, each behind one small driver interface ------------------------------------


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
AsyncSession = Callable[[DriverFactory], contextlib.AbstractAsyncContextManager[AsyncOp]]


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


# -- direct: the app called with hand-made receive/send -----------------------------------------


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


# -- the async scenarios, written once over a driver ----------------------------------------------


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


# -- running contenders --------------------------------------------------------------------------


class Contender(Protocol):
    name: str

    def open(self) -> None: ...

    def run(self, n: int) -> float:
        """Run ``n`` ops; return the seconds they took."""
        ...

    def close(self) -> None: ...


class SyncContender:
    def __init__(self, name: str, session: Callable[[], contextlib.AbstractContextManager[SyncOp]]) -> None:
        self.name = name
        self._session = session
        self._stack = contextlib.ExitStack()
        self._op: SyncOp | None = None

    def open(self) -> None:
        self._op = self._stack.enter_context(self._session())

    def run(self, n: int) -> float:
        assert self._op is not None
        start = time.perf_counter()
        self._op(n)
        return time.perf_counter() - start

    def close(self) -> None:
        self._stack.close()


class AsyncContender:
    """Runs an async session in one task of its own asyncio loop; the loop runs only while this is busy.

    The session is entered, used and left by that one task (as in a test under
    ``asyncio.run``), so clients built on anyio task groups and cancel scopes work.
    """

    def __init__(self, name: str, session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncOp]]) -> None:
        self.name = name
        self._session = session
        self._loop = asyncio.new_event_loop()
        self._calls: asyncio.Queue[tuple[int, asyncio.Future[float]] | None] | None = None
        self._host: asyncio.Task[None] | None = None

    def open(self) -> None:
        self._calls = asyncio.Queue()
        opened: asyncio.Future[None] = self._loop.create_future()
        self._host = self._loop.create_task(self._serve(opened))
        self._loop.run_until_complete(opened)

    async def _serve(self, opened: asyncio.Future[None]) -> None:
        assert self._calls is not None
        try:
            async with self._session() as op:
                opened.set_result(None)
                while (call := await self._calls.get()) is not None:
                    n, done = call
                    start = time.perf_counter()
                    try:
                        await op(n)
                    except BaseException as exc:
                        done.set_exception(exc)
                        raise
                    done.set_result(time.perf_counter() - start)
        except BaseException as exc:
            if not opened.done():
                opened.set_exception(exc)
            raise

    def run(self, n: int) -> float:
        assert self._calls is not None
        done: asyncio.Future[float] = self._loop.create_future()
        self._calls.put_nowait((n, done))
        return self._loop.run_until_complete(done)

    def close(self) -> None:
        loop = self._loop
        try:
            if self._host is not None and not self._host.done():
                assert self._calls is not None
                self._calls.put_nowait(None)
                loop.run_until_complete(self._host)
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            if pending:
                print(f"warning: {self.name} left {len(pending)} task(s) running: {pending}", file=sys.stderr)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class PatchedContender:
    """Another contender, with ``patch`` applied only while it opens, runs or closes."""

    def __init__(self, inner: Contender, patch: Callable[[], contextlib.AbstractContextManager[object]]) -> None:
        self.name = inner.name
        self._inner = inner
        self._patch = patch

    def open(self) -> None:
        with self._patch():
            self._inner.open()

    def run(self, n: int) -> float:
        with self._patch():
            return self._inner.run(n)

    def close(self) -> None:
        with self._patch():
            self._inner.close()


def _record_nothing(self: Transcript, *args: object) -> None:
    return None


def transcripts_off() -> contextlib.AbstractContextManager[object]:
    """asgitest's transcripts, recording nothing: every recording method of ``Transcript`` a no-op."""
    methods = ("app_received", "app_sent", "opened", "note")
    return mock.patch.multiple(Transcript, **dict.fromkeys(methods, _record_nothing))


# -- contenders and scenarios ----------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A contender's client: sync (a client factory) or async (a driver factory)."""

    name: str
    sync: SyncClientFactory | None = None
    driver: DriverFactory | None = None
    #: Import names of the optional packages it needs.
    requires: tuple[str, ...] = ()
    #: Applied while this contender runs, e.g. :func:`transcripts_off`.
    patch: Callable[[], contextlib.AbstractContextManager[object]] | None = None

    def missing(self) -> list[str]:
        return [module for module in self.requires if importlib.util.find_spec(module) is None]


CLIENTS = {
    client.name: client
    for client in [
        Client("asgitest", sync=asgitest.TestClient),
        Client("starlette", sync=StarletteTestClient),
        Client("httpx2-floor-sync", sync=floor_client),
        Client("asgitest-async", driver=asgitest_driver),
        Client("httpx2-asgi", driver=httpx2_asgi_driver),
        Client("httpx2-ws", driver=httpx2_ws_driver, requires=("wsproto",)),
        Client("httpx2-floor", driver=httpx2_floor_driver),
        Client("async-asgi-testclient", driver=async_asgi_testclient_driver, requires=("async_asgi_testclient",)),
        Client("direct", driver=direct_driver),
        # asgitest without its extra checks, or recording no transcripts (the checks-* scenarios)
        Client("asgitest-relaxed", sync=functools.partial(asgitest.TestClient, strict=False)),
        Client("asgitest-no-transcript", sync=asgitest.TestClient, patch=transcripts_off),
        Client("asgitest-async-relaxed", driver=functools.partial(asgitest_driver, strict=False)),
        Client("asgitest-async-no-transcript", driver=asgitest_driver, patch=transcripts_off),
    ]
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sync_session: SyncSession
    async_session: AsyncSession
    clients: tuple[str, ...]

    def contender(self, client: Client) -> Contender:
        contender: Contender
        if client.sync is not None:
            make_client = client.sync
            contender = SyncContender(client.name, lambda: self.sync_session(make_client))
        else:
            assert client.driver is not None
            open_driver = client.driver
            contender = AsyncContender(client.name, lambda: self.async_session(open_driver))
        return contender if client.patch is None else PatchedContender(contender, client.patch)


WEBSOCKET_CLIENTS = ("asgitest", "starlette", "asgitest-async", "httpx2-ws", "async-asgi-testclient", "direct")
CHECKS_CLIENTS = (
    "asgitest",
    "asgitest-relaxed",
    "asgitest-no-transcript",
    "asgitest-async",
    "asgitest-async-relaxed",
    "asgitest-async-no-transcript",
)

SCENARIOS = [
    Scenario(
        "get",
        "sequential GET of a tiny JSON route",
        sync_get,
        async_get,
        (
            "asgitest",
            "starlette",
            "httpx2-floor-sync",
            "asgitest-async",
            "httpx2-asgi",
            "httpx2-floor",
            "async-asgi-testclient",
            "direct",
        ),
    ),
    Scenario(
        "post-64k",
        "POST of a 64 KiB body, the app returns its length",
        sync_upload,
        async_upload,
        ("asgitest", "starlette", "asgitest-async", "httpx2-asgi", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "ws-echo", "WebSocket send_text + receive_text on one open socket", sync_echo, async_echo, WEBSOCKET_CLIENTS
    ),
    Scenario(
        "broadcast",
        f"POST whose BackgroundTask sends to {BROADCAST_SOCKETS} sockets, each receiving it",
        sync_broadcast,
        async_broadcast,
        WEBSOCKET_CLIENTS,
    ),
    Scenario(
        "sse",
        f"read {SSE_EVENTS} server-sent events from one streamed response",
        sync_sse,
        async_sse,
        ("asgitest", "starlette", "asgitest-async", "httpx2-asgi", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "lifecycle",
        "new client, enter (lifespan), one GET, exit",
        sync_lifecycle,
        async_lifecycle,
        ("asgitest", "starlette", "asgitest-async", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "checks-get",
        "GET, asgitest with and without strict checks and transcripts",
        sync_get,
        async_get,
        CHECKS_CLIENTS,
    ),
    Scenario(
        "checks-ws-echo",
        "WebSocket echo, asgitest with and without strict checks and transcripts",
        sync_echo,
        async_echo,
        CHECKS_CLIENTS,
    ),
]


@dataclass(frozen=True)
class Target:
    """``contender`` runs ``scenario`` at least ``minimum`` times as fast as ``baseline``."""

    label: str
    scenario: str
    contender: str
    baseline: str
    minimum: float


TARGETS = [
    Target("sync GET vs Starlette", "get", "asgitest", "starlette", 5),
    Target("sync GET vs httpx2 do-nothing floor", "get", "asgitest", "httpx2-floor-sync", 0.85),
    Target("async GET vs httpx2 ASGITransport", "get", "asgitest-async", "httpx2-asgi", 1.15),
    Target("async GET vs httpx2 do-nothing floor", "get", "asgitest-async", "httpx2-floor", 0.85),
    Target("sync WS echo vs Starlette", "ws-echo", "asgitest", "starlette", 5),
    Target("async WS echo vs direct", "ws-echo", "asgitest-async", "direct", 0.7),
    Target("sync broadcast vs Starlette", "broadcast", "asgitest", "starlette", 10),
    Target("async broadcast vs direct", "broadcast", "asgitest-async", "direct", 0.7),
    Target("sync SSE vs Starlette", "sse", "asgitest", "starlette", 10),
    Target("async SSE vs async-asgi-testclient", "sse", "asgitest-async", "async-asgi-testclient", 1.0),
    Target("sync lifecycle vs Starlette", "lifecycle", "asgitest", "starlette", 10),
]

#: (scenario, feature, asgitest with it, asgitest without it): what the feature costs.
COSTS = [
    (scenario, feature, client, f"{client}-{variant}")
    for scenario in ("checks-get", "checks-ws-echo")
    for client in ("asgitest", "asgitest-async")
    for feature, variant in (("strict checks", "relaxed"), ("transcripts", "no-transcript"))
]


# -- measuring --------------------------------------------------------------------------------------


@dataclass
class Settings:
    rounds: int
    round_seconds: float
    warmup_seconds: float


@dataclass
class Result:
    scenario: str
    contender: str
    rates: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds, as a fraction."""
        return (max(self.rates) - min(self.rates)) / self.median


@dataclass
class Run:
    """Everything one run measured."""

    results: list[Result] = field(default_factory=list)
    #: scenario -> contender -> the optional packages it lacked.
    skipped: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def find(self, scenario: str, contender: str) -> Result | None:
        return next((r for r in self.results if r.scenario == scenario and r.contender == contender), None)


def warm_up(contender: Contender, seconds: float) -> float:
    """Run doubling batches for at least ``seconds`` in all; return the seconds per op of the last batch."""
    n, spent = 1, 0.0
    while True:
        elapsed = contender.run(n)
        spent += elapsed
        if spent >= seconds:
            return elapsed / n
        n *= 2


def measure(contenders: list[Contender], scenario: str, settings: Settings) -> list[Result]:
    """Open and warm up each contender, then run their rounds interleaved."""
    results = {c.name: Result(scenario, c.name) for c in contenders}
    sizes: dict[str, int] = {}
    opened: list[Contender] = []
    try:
        for contender in contenders:
            contender.open()
            opened.append(contender)
            per_op = warm_up(contender, settings.warmup_seconds)
            sizes[contender.name] = max(1, round(settings.round_seconds / max(per_op, 1e-9)))
        for round_number in range(settings.rounds):
            shift = round_number % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                n = sizes[contender.name]
                # Each round starts with no garbage: a client that leaves reference cycles
                # pays for collecting them in its own rounds, not in the next contender's.
                gc.collect()
                results[contender.name].rates.append(n / contender.run(n))
    finally:
        for contender in reversed(opened):
            contender.close()
    return list(results.values())


def run_scenario(scenario: Scenario, settings: Settings, run: Run) -> None:
    """Measure the contenders of ``scenario`` whose packages are installed; note the others."""
    contenders: list[Contender] = []
    for name in scenario.clients:
        client = CLIENTS[name]
        if missing := client.missing():
            run.skipped.setdefault(scenario.name, {})[name] = missing
        else:
            contenders.append(scenario.contender(client))
    run.results.extend(measure(contenders, scenario.name, settings))


# -- scale --------------------------------------------------------------------------------------------


@dataclass
class ScaleSettings:
    sockets: int
    gets: int
    slice_size: int


@dataclass
class Fanout:
    """One client with ``sockets`` WebSockets open at once, and one broadcast to them all."""

    contender: str
    sockets: int
    open_seconds: float
    broadcast_seconds: float
    close_seconds: float


@dataclass
class Soak:
    """``gets`` sequential GETs on one client, in slices: ops/s and RSS after each."""

    contender: str
    slice_size: int
    rss_before_kib: int
    rss_after_kib: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)


def rss_kib() -> int:
    """The process's resident set now (``VmRSS``), or its peak where ``/proc`` is missing."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


async def fanout(name: str, open_driver: DriverFactory, count: int) -> Fanout:
    app = make_app()
    async with open_driver(app) as driver:
        async with contextlib.AsyncExitStack() as sockets:
            start = time.perf_counter()
            room = await open_room(driver, sockets, count)
            opened = time.perf_counter()
            await broadcast_once(driver, room, "news")
            broadcast = time.perf_counter()
        closed = time.perf_counter()
    check_no_sockets_left(app)
    return Fanout(name, count, opened - start, broadcast - opened, closed - broadcast)


def soak(contender: Contender, settings: ScaleSettings) -> Soak:
    """Run ``settings.gets`` ops after a warm-up, a slice at a time."""
    contender.open()
    try:
        contender.run(settings.slice_size // 10)
        gc.collect()
        result = Soak(contender.name, settings.slice_size, rss_kib())
        for _ in range(settings.gets // settings.slice_size):
            result.rates.append(settings.slice_size / contender.run(settings.slice_size))
            result.rss_after_kib.append(rss_kib())
    finally:
        contender.close()
    return result


def run_scale(settings: ScaleSettings) -> tuple[list[Fanout], list[Soak]]:
    fanouts: list[Fanout] = []
    for name in ("asgitest-async", "direct"):
        driver = CLIENTS[name].driver
        assert driver is not None
        print(f"running scale: {settings.sockets} WebSockets on one client ({name})", file=sys.stderr, flush=True)
        fanouts.append(asyncio.run(fanout(name, driver, settings.sockets)))
    get = next(s for s in SCENARIOS if s.name == "get")
    soaks: list[Soak] = []
    for name in ("asgitest", "asgitest-async"):
        print(f"running scale: {settings.gets:,} GETs on one client ({name})", file=sys.stderr, flush=True)
        soaks.append(soak(get.contender(CLIENTS[name]), settings))
    return fanouts, soaks


# -- report ----------------------------------------------------------------------------------------


@dataclass
class Verdict:
    target: Target
    ratio: float | None
    #: Why there is no ratio (a contender not installed or not run).
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.ratio is not None and self.ratio >= self.target.minimum

    @property
    def text(self) -> str:
        if self.ratio is None:
            return self.reason
        return "holds" if self.holds else "misses"


def judge(target: Target, run: Run) -> Verdict:
    for name in (target.contender, target.baseline):
        if missing := run.skipped.get(target.scenario, {}).get(name):
            return Verdict(target, None, f"n/a: {name} not installed ({', '.join(missing)})")
    contender, baseline = run.find(target.scenario, target.contender), run.find(target.scenario, target.baseline)
    if contender is None or baseline is None:
        return Verdict(target, None, "not run")
    return Verdict(target, contender.median / baseline.median)


def package_versions() -> dict[str, str]:
    names = ("asgitest", "starlette", "anyio", "httpx2", "wsproto", "async-asgi-testclient", "matplotlib")
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def print_header(settings: Settings) -> None:
    cpus = f"{os.cpu_count()} CPUs"
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) != os.cpu_count():
        cpus += f", pinned to {sorted(os.sched_getaffinity(0))}"
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {cpus}")
    print(", ".join(f"{name} {v}" for name, v in package_versions().items()))
    print(
        f"{settings.rounds} rounds of ~{settings.round_seconds:g}s per contender, "
        f"warmup ~{settings.warmup_seconds:g}s; ops/s is the median round\n"
    )


def print_rows(header: tuple[str, ...], rows: list[tuple[str, ...]], text: frozenset[int] = frozenset({0})) -> None:
    """A plain table; the columns numbered in ``text`` are left-aligned, the others (figures) right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (c.ljust(w) if i in text else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        print("  ".join(cells).rstrip())


def print_table(run: Run, scenarios: list[str]) -> None:
    """One row per scenario, ops/s per contender ("-": cannot run it, "n/i": not installed)."""
    ran = {(r.scenario, r.contender): r for r in run.results}
    columns = [name for name in CLIENTS if any((s, name) in ran or name in run.skipped.get(s, {}) for s in scenarios)]
    rows = []
    for scenario in scenarios:
        cells = []
        for name in columns:
            result = ran.get((scenario, name))
            cells.append(f"{result.median:,.0f}" if result else "n/i" if name in run.skipped.get(scenario, {}) else "-")
        spread = max((r.spread for (s, _), r in ran.items() if s == scenario), default=0.0)
        rows.append((scenario, *cells, f"{spread:.0%}"))
    print_rows(("ops/s", *columns, "max spread"), rows)
    missing = {name: packages for skipped in run.skipped.values() for name, packages in skipped.items()}
    for name, packages in missing.items():
        print(f"n/i: {name} is not installed ({', '.join(packages)}), skipped")


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets (ratios of median ops/s, measured side by side)")
    rows = [
        (
            v.target.label,
            f"{v.target.contender} / {v.target.baseline}",
            "" if v.ratio is None else f"{v.ratio:.2f}x",
            f">= {v.target.minimum:g}x",
            v.text,
        )
        for v in verdicts
    ]
    print_rows(("target", "ratio of", "measured", "required", "verdict"), rows, text=frozenset({0, 1, 4}))


@dataclass
class Cost:
    """The extra time per op of a feature, from rounds run back to back with and without it."""

    scenario: str
    feature: str
    client: str
    ops_with: float
    #: Per round: time per op with the feature / time per op without it - 1.
    per_round: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)

    @property
    def quartiles(self) -> tuple[float, float]:
        if len(self.per_round) < 2:
            return self.median, self.median
        low, _, high = statistics.quantiles(self.per_round, n=4, method="inclusive")
        return low, high


def costs(run: Run) -> list[Cost]:
    """Each feature's cost, paired round by round (rounds are interleaved, so a pair ran close in time)."""
    found = []
    for scenario, feature, client, without in COSTS:
        with_it, without_it = run.find(scenario, client), run.find(scenario, without)
        if with_it and without_it:
            pairs = [fast / slow - 1 for slow, fast in zip(with_it.rates, without_it.rates, strict=True)]
            found.append(Cost(scenario, feature, client, with_it.median, pairs))
    return found


def print_costs(run: Run) -> None:
    found = costs(run)
    if not found:
        return
    print(
        "\nthe cost of checks and transcripts: extra time per op, median of the rounds' pairs"
        "\n(strict checks: strict=True over strict=False, which still checks 33 of the 45 rules)"
    )
    rows = [
        (
            c.scenario.removeprefix("checks-"),
            c.client,
            c.feature,
            f"{c.ops_with:,.0f}",
            f"{c.median:+.1%}",
            "{:+.1%} .. {:+.1%}".format(*c.quartiles),
        )
        for c in found
    ]
    print_rows(("scenario", "client", "feature", "ops/s with it", "cost", "quartiles"), rows, text=frozenset({0, 1, 2}))


def print_scale(fanouts: list[Fanout], soaks: list[Soak]) -> None:
    print("\nscale: many WebSockets on one client, one broadcast to all")
    rows = [
        (
            f.contender,
            f"{f.sockets:,}",
            f"{f.open_seconds:.3f}s",
            f"{f.broadcast_seconds:.3f}s",
            f"{f.close_seconds:.3f}s",
            f"{f.open_seconds / f.sockets * 1e6:,.0f}us",
        )
        for f in fanouts
    ]
    print_rows(("client", "sockets", "open all", "broadcast + receive all", "close all", "open per socket"), rows)
    for s in soaks:
        total = s.slice_size * len(s.rates)
        print(
            f"\nscale: {total:,} sequential GETs ({s.contender}), RSS {s.rss_before_kib / 1024:.1f} MiB before, "
            f"{s.rss_after_kib[-1] / 1024:.1f} MiB after; last slice / first slice = {s.rates[-1] / s.rates[0]:.2f}"
        )
        rows = [
            (f"{(i + 1) * s.slice_size:,}", f"{rate:,.0f}", f"{rss / 1024:.1f}")
            for i, (rate, rss) in enumerate(zip(s.rates, s.rss_after_kib, strict=True))
        ]
        print_rows(("after op", "ops/s", "RSS MiB"), rows)


def write_json(
    path: str, settings: Settings, run: Run, verdicts: list[Verdict], fanouts: list[Fanout], soaks: list[Soak]
) -> None:
    report = {
        "python": platform.python_version(),
        "packages": package_versions(),
        "settings": asdict(settings),
        "results": [{**asdict(r), "median": r.median} for r in run.results],
        "skipped": run.skipped,
        "targets": [{**asdict(v.target), "ratio": v.ratio, "verdict": v.text} for v in verdicts],
        "costs": [{**asdict(c), "extra_time_per_op": c.median} for c in costs(run)],
        "scale": {"websockets": [asdict(f) for f in fanouts], "gets": [asdict(s) for s in soaks]},
    }
    with open(path, "w") as file:
        json.dump(report, file, indent=2)
    print(f"wrote {path}", file=sys.stderr)


def write_chart(path: str, verdicts: list[Verdict]) -> None:
    """A horizontal bar per target: the measured ratio (log scale), the required one marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--chart: matplotlib is not installed, {path} not written", file=sys.stderr)
        return
    shown = [v for v in verdicts if v.ratio is not None]
    if not shown:
        print(f"--chart: no target was measured, {path} not written", file=sys.stderr)
        return
    ratios = [v.ratio or 0.0 for v in shown]
    minimums = [v.target.minimum for v in shown]
    rows = range(len(shown))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(shown) + 1.4))
    # Bars grow from 1x: right of it asgitest is faster than the baseline, left of it slower.
    widths = [ratio - 1.0 for ratio in ratios]
    colors = ["#2e7d32" if v.holds else "#c62828" for v in shown]
    ax.barh(rows, widths, left=1.0, color=colors, height=0.6)
    ax.scatter(ratios, rows, marker="o", s=16, color=colors, zorder=4)  # seen even at 1.00x
    ax.scatter(minimums, rows, marker="|", s=400, color="black", zorder=3)
    for row, ratio in zip(rows, ratios, strict=True):
        ax.annotate(
            f"{ratio:.2f}x", (max(ratio, 1.0), row), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8
        )
    ax.set_xscale("log")
    ax.set_xlim(min([*ratios, *minimums]) / 1.5, max([*ratios, *minimums]) * 2)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_yticks(list(rows), [f"{v.target.label} (>= {v.target.minimum:g}x)" for v in shown])
    ax.tick_params(labelsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speed vs the baseline (ratio of median ops/s, log scale)", fontsize=9)
    ax.set_title("asgitest vs its targets (|): green holds, red misses", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few, short rounds, tiny scale (~30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per contender (default 7, quick 3)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in SCENARIOS],
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(s.name for s in SCENARIOS)}), and no scale unless --scale",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="run the scale scenarios (alone, unless --only names others; a default run includes them)",
    )
    parser.add_argument("--json", metavar="PATH", help="write every figure of the run to PATH as JSON")
    parser.add_argument("--chart", metavar="PATH", help="write a PNG of the target ratios to PATH (matplotlib)")
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="pin the process to this CPU (Linux): steadier sync numbers, as thread hand-offs stay on one core",
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread starts, so every thread inherits it
    if args.quick:
        settings = Settings(rounds=args.rounds or 3, round_seconds=0.05, warmup_seconds=0.05)
        scale = ScaleSettings(sockets=50, gets=2_000, slice_size=500)
    else:
        settings = Settings(rounds=args.rounds or 7, round_seconds=0.4, warmup_seconds=0.3)
        scale = ScaleSettings(sockets=1_000, gets=100_000, slice_size=10_000)
    print_header(settings)
    started = time.perf_counter()
    run = Run()
    for scenario in SCENARIOS:
        if (args.only and scenario.name not in args.only) or (args.scale and not args.only):
            continue
        print(f"running {scenario.name}: {scenario.description}", file=sys.stderr, flush=True)
        run_scenario(scenario, settings, run)
    fanouts, soaks = run_scale(scale) if args.scale or not args.only else ([], [])
    main_scenarios = [s.name for s in SCENARIOS if not s.name.startswith("checks-")]
    shown = [name for name in main_scenarios if any(r.scenario == name for r in run.results)]
    verdicts = [judge(target, run) for target in TARGETS if target.scenario in shown]
    if shown:
        print_table(run, shown)
        print_verdicts(verdicts)
    print_costs(run)
    if fanouts or soaks:
        print_scale(fanouts, soaks)
    print(f"\ntotal {time.perf_counter() - started:.1f}s")
    if args.json:
        write_json(args.json, settings, run, verdicts, fanouts, soaks)
    if args.chart:
        write_chart(args.chart, verdicts)


if __name__ == "__main__":
    main()
