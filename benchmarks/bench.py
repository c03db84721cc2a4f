"""Side-by-side throughput of asgitest and Starlette's TestClient, in one process.

Contenders:

* ``asgitest``: ``asgitest.TestClient`` (sync, entered with ``with``);
* ``starlette``: ``starlette.testclient.TestClient`` (sync, entered with ``with``);
* ``asgitest-async``: ``asgitest.AsyncTestClient`` on an asyncio loop;
* ``httpx2-asgi``: ``httpx2.AsyncClient`` over ``httpx2.ASGITransport`` on an
  asyncio loop (``sse`` only; it buffers the whole body before returning);
* ``direct``: the ASGI app called directly with hand-made ``receive``/``send``
  (async, on an asyncio loop): the floor any client adds its overhead to.

Each scenario opens every contender, warms it up (which also sizes its rounds),
then runs the rounds interleaved (the order rotates each round) and reports the
median ops/s. ``asgitest`` is compared to ``starlette``, ``asgitest-async`` to
``direct`` (and to ``httpx2-asgi`` where it runs). Async contenders each own an
asyncio loop that runs only while they are measured, as ``asyncio.run`` would
run them.

Usage: ``python benchmarks/bench.py [--quick] [--rounds N] [--only SCENARIO ...] [--cpu N]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any, Protocol

import httpx2
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient as StarletteTestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

import asgitest

Message = MutableMapping[str, Any]
SyncOp = Callable[[int], None]
AsyncOp = Callable[[int], Awaitable[None]]

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


def open_sockets(app: Starlette) -> int:
    """How many sockets the app still holds (0 once every contender has closed its own)."""
    return len(app.state.sockets)


# -- the sync clients: asgitest.TestClient and starlette's TestClient share one API -----------------

SyncClientFactory = Callable[[Starlette], Any]


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


# -- asgitest.AsyncTestClient ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def async_get() -> AsyncIterator[AsyncOp]:
    async with asgitest.AsyncTestClient(make_app()) as client:

        async def run(n: int) -> None:
            for _ in range(n):
                assert (await client.get("/json")).status_code == 200

        yield run


@contextlib.asynccontextmanager
async def async_upload() -> AsyncIterator[AsyncOp]:
    async with asgitest.AsyncTestClient(make_app()) as client:

        async def run(n: int) -> None:
            for _ in range(n):
                response = await client.post("/upload", content=UPLOAD_BODY)
                assert response.json()["length"] == UPLOAD_SIZE

        yield run


@contextlib.asynccontextmanager
async def async_echo() -> AsyncIterator[AsyncOp]:
    async with asgitest.AsyncTestClient(make_app()) as client, client.websocket_connect("/echo") as ws:

        async def run(n: int) -> None:
            for _ in range(n):
                await ws.send_text("ping")
                assert await ws.receive_text() == "ping"

        yield run


@contextlib.asynccontextmanager
async def async_broadcast() -> AsyncIterator[AsyncOp]:
    app = make_app()
    async with asgitest.AsyncTestClient(app) as client, contextlib.AsyncExitStack() as sockets:
        room = [await sockets.enter_async_context(client.websocket_connect("/room")) for _ in range(BROADCAST_SOCKETS)]
        for ws in room:
            assert await ws.receive_text() == "ready"

        async def run(n: int) -> None:
            for i in range(n):
                text = f"news {i}"
                response = await client.post("/broadcast", content=text)
                assert response.json()["sockets"] == BROADCAST_SOCKETS
                for ws in room:
                    assert await ws.receive_text() == text

        yield run
    check_no_sockets_left(app)


async def read_events(client: httpx2.AsyncClient) -> None:
    count = 0
    async with client.sse("/events") as source:
        async for _event in source:
            count += 1
    assert count == SSE_EVENTS, count


@contextlib.asynccontextmanager
async def async_sse() -> AsyncIterator[AsyncOp]:
    async with asgitest.AsyncTestClient(make_app()) as client:

        async def run(n: int) -> None:
            for _ in range(n):
                await read_events(client)

        yield run


@contextlib.asynccontextmanager
async def async_lifecycle() -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            async with asgitest.AsyncTestClient(app) as client:
                assert (await client.get("/json")).status_code == 200

    yield run


# -- httpx2.AsyncClient over httpx2.ASGITransport (sse only) ------------------------------------


@contextlib.asynccontextmanager
async def httpx2_asgi_sse() -> AsyncIterator[AsyncOp]:
    transport = httpx2.ASGITransport(app=make_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def run(n: int) -> None:
            for _ in range(n):
                await read_events(client)

        yield run


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

    async def send_text(self, text: str) -> None:
        self.to_app.put_nowait({"type": "websocket.receive", "text": text})

    async def receive_text(self) -> str:
        return str((await self.to_test.get())["text"])


@contextlib.asynccontextmanager
async def direct_lifespan(app: Starlette) -> AsyncIterator[None]:
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    to_test: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        to_test.put_nowait(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, send))
    to_app.put_nowait({"type": "lifespan.startup"})
    assert (await to_test.get())["type"] == "lifespan.startup.complete"
    yield
    to_app.put_nowait({"type": "lifespan.shutdown"})
    assert (await to_test.get())["type"] == "lifespan.shutdown.complete"
    await task


@contextlib.asynccontextmanager
async def direct_get() -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            status, _ = await direct_request(app, "GET", "/json")
            assert status == 200

    yield run


@contextlib.asynccontextmanager
async def direct_upload() -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            _, body = await direct_request(app, "POST", "/upload", UPLOAD_BODY)
            assert json.loads(body)["length"] == UPLOAD_SIZE

    yield run


@contextlib.asynccontextmanager
async def direct_echo() -> AsyncIterator[AsyncOp]:
    async with DirectWebSocket(make_app(), "/echo") as ws:

        async def run(n: int) -> None:
            for _ in range(n):
                await ws.send_text("ping")
                assert await ws.receive_text() == "ping"

        yield run


@contextlib.asynccontextmanager
async def direct_broadcast() -> AsyncIterator[AsyncOp]:
    app = make_app()
    async with contextlib.AsyncExitStack() as sockets:
        room = [await sockets.enter_async_context(DirectWebSocket(app, "/room")) for _ in range(BROADCAST_SOCKETS)]
        for ws in room:
            assert await ws.receive_text() == "ready"

        async def run(n: int) -> None:
            for i in range(n):
                text = f"news {i}"
                _, body = await direct_request(app, "POST", "/broadcast", text.encode())
                assert json.loads(body)["sockets"] == BROADCAST_SOCKETS
                for ws in room:
                    assert await ws.receive_text() == text

        yield run
    check_no_sockets_left(app)


@contextlib.asynccontextmanager
async def direct_sse() -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            status, body = await direct_request(app, "GET", "/events")
            assert status == 200
            count = sum(1 for event in body.split(b"\n\n") if event.startswith(b"data:"))
            assert count == SSE_EVENTS, count

    yield run


@contextlib.asynccontextmanager
async def direct_lifecycle() -> AsyncIterator[AsyncOp]:
    app = make_app()

    async def run(n: int) -> None:
        for _ in range(n):
            async with direct_lifespan(app):
                status, _ = await direct_request(app, "GET", "/json")
                assert status == 200

    yield run


def check_no_sockets_left(app: Starlette) -> None:
    left = open_sockets(app)
    if left:
        print(f"warning: the app still holds {left} socket(s) after its client closed", file=sys.stderr)


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
    """Runs an async session on its own asyncio loop, which runs only while this contender is busy."""

    def __init__(self, name: str, session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncOp]]) -> None:
        self.name = name
        self._session = session
        self._loop = asyncio.new_event_loop()
        self._stack = contextlib.AsyncExitStack()
        self._op: AsyncOp | None = None

    def open(self) -> None:
        self._op = self._loop.run_until_complete(self._stack.enter_async_context(self._session()))

    def run(self, n: int) -> float:
        return self._loop.run_until_complete(self._timed(n))

    async def _timed(self, n: int) -> float:
        assert self._op is not None
        start = time.perf_counter()
        await self._op(n)
        return time.perf_counter() - start

    def close(self) -> None:
        loop = self._loop
        try:
            loop.run_until_complete(self._stack.aclose())
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            if pending:
                print(f"warning: {self.name} left {len(pending)} task(s) running: {pending}", file=sys.stderr)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


@dataclass
class Scenario:
    name: str
    description: str
    contenders: Callable[[], list[Contender]]


def sync_pair(
    session: Callable[[SyncClientFactory], contextlib.AbstractContextManager[SyncOp]],
) -> list[Contender]:
    return [
        SyncContender("asgitest", lambda: session(asgitest.TestClient)),
        SyncContender("starlette", lambda: session(StarletteTestClient)),
    ]


def async_pair(
    asgitest_session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncOp]],
    direct_session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncOp]],
) -> list[Contender]:
    return [AsyncContender("asgitest-async", asgitest_session), AsyncContender("direct", direct_session)]


SCENARIOS = [
    Scenario(
        "get", "sequential GET of a tiny JSON route", lambda: [*sync_pair(sync_get), *async_pair(async_get, direct_get)]
    ),
    Scenario(
        "post-64k",
        "POST of a 64 KiB body, the app returns its length",
        lambda: [*sync_pair(sync_upload), *async_pair(async_upload, direct_upload)],
    ),
    Scenario(
        "ws-echo",
        "WebSocket send_text + receive_text on one open socket",
        lambda: [*sync_pair(sync_echo), *async_pair(async_echo, direct_echo)],
    ),
    Scenario(
        "broadcast",
        f"POST whose BackgroundTask sends to {BROADCAST_SOCKETS} sockets, each receiving it",
        lambda: [*sync_pair(sync_broadcast), *async_pair(async_broadcast, direct_broadcast)],
    ),
    Scenario(
        "sse",
        f"read {SSE_EVENTS} server-sent events from one streamed response",
        lambda: [
            *sync_pair(sync_sse),
            *async_pair(async_sse, direct_sse),
            AsyncContender("httpx2-asgi", httpx2_asgi_sse),
        ],
    ),
    Scenario(
        "lifecycle",
        "new client, enter (lifespan), one GET, exit",
        lambda: [*sync_pair(sync_lifecycle), *async_pair(async_lifecycle, direct_lifecycle)],
    ),
]

#: Each contender's baselines, shown in the ratio column of its row when they ran in its scenario.
RATIOS = {"asgitest": ["starlette"], "asgitest-async": ["direct", "httpx2-asgi"]}
#: Display order within a scenario.
ORDER = ["asgitest", "starlette", "asgitest-async", "httpx2-asgi", "direct"]


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


def warm_up(contender: Contender, seconds: float) -> float:
    """Run doubling batches for at least ``seconds`` in all; return the seconds per op of the last batch."""
    n, spent = 1, 0.0
    while True:
        elapsed = contender.run(n)
        spent += elapsed
        if spent >= seconds:
            return elapsed / n
        n *= 2


def measure(scenario: Scenario, settings: Settings) -> list[Result]:
    contenders = scenario.contenders()
    results = {c.name: Result(scenario.name, c.name) for c in contenders}
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
                results[contender.name].rates.append(n / contender.run(n))
    finally:
        for contender in reversed(opened):
            contender.close()
    return [results[name] for name in ORDER if name in results]


# -- report ----------------------------------------------------------------------------------------


def ratio_text(result: Result, by_name: dict[str, Result]) -> str:
    baselines = [b for b in RATIOS.get(result.contender, []) if b in by_name]
    if not baselines:
        return "(baseline)" if any(result.contender in bs for bs in RATIOS.values()) else ""
    return ", ".join(f"{result.median / by_name[b].median:.2f}x vs {b}" for b in baselines)


def print_header(settings: Settings) -> None:
    packages = ", ".join(f"{name} {version(name)}" for name in ("asgitest", "starlette", "anyio", "httpx2"))
    cpus = f"{os.cpu_count()} CPUs"
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) != os.cpu_count():
        cpus += f", pinned to {sorted(os.sched_getaffinity(0))}"
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {cpus}")
    print(packages)
    print(
        f"{settings.rounds} rounds of ~{settings.round_seconds:g}s per contender, "
        f"warmup ~{settings.warmup_seconds:g}s; ops/s is the median round\n"
    )


def print_table(results: list[Result]) -> None:
    header = ("scenario", "contender", "ops/s", "ratio", "spread")
    rows: list[tuple[str, str, str, str, str]] = []
    for scenario in dict.fromkeys(r.scenario for r in results):
        group = [r for r in results if r.scenario == scenario]
        by_name = {r.contender: r for r in group}
        for r in group:
            rows.append((scenario, r.contender, f"{r.median:,.0f}", ratio_text(r, by_name), f"{r.spread:.0%}"))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {2}  # ops/s is right-aligned

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous:
            print()
        print(line(row if row[0] != previous else ("", *row[1:])))
        previous = row[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few, short rounds (well under 20 s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per contender (default 7, quick 3)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in SCENARIOS],
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(s.name for s in SCENARIOS)})",
    )
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
    else:
        settings = Settings(rounds=args.rounds or 7, round_seconds=0.4, warmup_seconds=0.3)
    print_header(settings)
    started = time.perf_counter()
    results: list[Result] = []
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        print(f"running {scenario.name}: {scenario.description}", file=sys.stderr, flush=True)
        results.extend(measure(scenario, settings))
    print_table(results)
    print(f"\ntotal {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
