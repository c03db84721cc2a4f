"""Virtual time: ``TestClient(app, clock="virtual")``, ``advance()``, ``clock_time()``, and the
async client on a test loop whose clock is virtual (trio's ``MockClock``, ``VirtualTimeLoop``).

"Wall" below is real time: what each test shows is that hours of the app's time pass in
well under a second of it, and that the clock stands still when the test does not wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import asgitest._loop_thread
from asgitest import (
    AppCancelledWarning,
    ASGITimeoutError,
    AsyncTestClient,
    Receive,
    Scope,
    Send,
    TestClient,
    VirtualTimeLoop,
)

#: Real seconds a test of hours of virtual time may take: far above what it needs (a few
#: milliseconds), far below what a real clock would take.
WALL = 5.0


class Wall:
    """Real time spent in a block."""

    def __enter__(self) -> Wall:
        self.began = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.spent = time.perf_counter() - self.began


async def lifespan_or(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a lifespan scope (True), or leave the scope to the app (False)."""
    if scope["type"] != "lifespan":
        return False
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await anyio.sleep(600)  # a slow startup: ten minutes of the app's time
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return True


async def realtime_app(scope: Scope, receive: Receive, send: Send) -> None:
    """/hour answers after an hour; /ping streams three SSE pings 15 s apart; a WebSocket beats
    every 30 s until the test leaves; /silent accepts and says nothing."""
    if await lifespan_or(scope, receive, send):
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        if scope["path"] == "/hour":
            await anyio.sleep(3600)
            await send({"type": "http.response.body", "body": b"an hour later"})
            return
        for number in range(3):
            await anyio.sleep(15)
            await send({"type": "http.response.body", "body": f"data: ping {number}\n\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()
    await send({"type": "websocket.accept"})
    if scope["path"] == "/silent":
        await receive()
        return
    async with anyio.create_task_group() as group:

        async def beat() -> None:
            number = 0
            while True:
                await anyio.sleep(30)
                number += 1
                await send({"type": "websocket.send", "text": f"beat {number}"})

        group.start_soon(beat)
        await receive()
        group.cancel_scope.cancel()


@pytest.fixture
def virtual(anyio_backend: str) -> Iterator[TestClient]:
    with TestClient(realtime_app, backend=anyio_backend, clock="virtual", timeout=7200) as client:  # type: ignore[arg-type]
        yield client


def test_an_hour_long_wait_before_a_response_takes_no_wall_time(virtual: TestClient) -> None:
    began = virtual.clock_time()
    with Wall() as wall:
        assert virtual.get("/hour").text == "an hour later"
    assert wall.spent < WALL
    assert 3600 <= virtual.clock_time() - began < 3601


def test_server_sent_pings_fifteen_seconds_apart(virtual: TestClient) -> None:
    began = virtual.clock_time()
    with Wall() as wall, virtual.sse("/ping") as source:
        assert [event.data for event in source] == ["ping 0", "ping 1", "ping 2"]
    assert wall.spent < WALL
    assert 45 <= virtual.clock_time() - began < 46


def test_a_websocket_heartbeat_every_thirty_seconds(virtual: TestClient) -> None:
    with Wall() as wall, virtual.websocket_connect("/beat") as ws:
        began = virtual.clock_time()
        assert [ws.receive_text() for _ in range(3)] == ["beat 1", "beat 2", "beat 3"]
        assert 90 <= virtual.clock_time() - began < 91
    assert wall.spent < WALL


def test_the_startup_of_a_slow_lifespan_takes_no_wall_time(anyio_backend: str) -> None:
    with Wall() as wall, TestClient(realtime_app, backend=anyio_backend, clock="virtual", timeout=7200) as client:  # type: ignore[arg-type]
        assert client.clock_time() >= 600
    assert wall.spent < WALL


def test_a_receive_that_never_comes_fails_at_once_in_wall_time(virtual: TestClient) -> None:
    with virtual.websocket_connect("/silent") as ws:
        began = virtual.clock_time()
        with (
            Wall() as wall,
            pytest.raises(ASGITimeoutError, match=r"timed out after 30\.0s waiting for a message") as caught,
        ):
            ws.receive_text(timeout=30)
        assert wall.spent < WALL
        assert "+30.000s   -- timed out waiting for a message from the app" in str(caught.value)  # the app's time
        assert 30 <= virtual.clock_time() - began < 31
        with Wall() as wall:
            assert ws.expect_nothing(within=600) is None  # ten minutes of silence, at once
        assert wall.spent < WALL


def test_the_default_timeout_is_virtual_too(anyio_backend: str) -> None:
    client = TestClient(realtime_app, backend=anyio_backend, clock="virtual")  # type: ignore[arg-type]
    with Wall() as wall, pytest.raises(ASGITimeoutError, match=r"timed out after 30\.0s"):
        client.get("/hour")  # the default 30 s pass before the hour does
    assert wall.spent < WALL
    client.close()


def test_the_clock_stands_still_between_calls_and_advance_runs_what_is_due(virtual: TestClient) -> None:
    with virtual.websocket_connect("/beat") as ws:
        began = virtual.clock_time()
        # The test does something else for a while (no call into the client): no beat comes due.
        threading.Event().wait(0.1)
        assert virtual.clock_time() == began
        virtual.advance(95)
        assert virtual.clock_time() == began + 95
        # Exactly the three beats due at 30, 60 and 90 s, in order; the fourth is at 120.
        assert [ws.receive_text(timeout=0.001) for _ in range(3)] == ["beat 1", "beat 2", "beat 3"]
        assert ws.expect_nothing(within=24) is None  # at 119 s: nothing yet
        assert ws.receive_text() == "beat 4"


def test_a_grace_period_counts_virtual_time(anyio_backend: str) -> None:
    async def lingering(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        with anyio.CancelScope(shield=True):
            await anyio.sleep(10)  # ten seconds of cleanup after the close, shielded: then it returns
        await anyio.sleep(3600)  # and an hour more, which the grace period cuts short

    client = TestClient(lingering, backend=anyio_backend, clock="virtual", grace_period=20, strict=True)  # type: ignore[arg-type]
    with (
        Wall() as wall,
        pytest.warns(AppCancelledWarning, match="still running 20"),
        client.websocket_connect("/ws"),
    ):
        began = client.clock_time()
    assert wall.spent < WALL
    assert 20 <= client.clock_time() - began < 21
    client.close()


def test_wait_idle_waits_for_background_work_in_virtual_time(anyio_backend: str) -> None:
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    done: list[float] = []

    async def later() -> None:
        await anyio.sleep(600)
        done.append(anyio.current_time())

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", background=BackgroundTask(later))

    app = Starlette(routes=[Route("/", home)])
    with TestClient(app, backend=anyio_backend, clock="virtual", wait_for_app=False, timeout=1000) as client:  # type: ignore[arg-type]
        with Wall() as wall:
            assert client.get("/").text == "ok"
            assert done == []
            client.wait_idle()
        assert wall.spent < WALL
        assert len(done) == 1


def test_a_worker_thread_holds_the_clock(anyio_backend: str) -> None:
    """A framework's sync endpoint runs in a worker thread; the request's own 1 s bound must
    not jump past it while it works."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    def blocking(request: Any) -> PlainTextResponse:  # run in a worker thread by Starlette
        time.sleep(0.05)  # real work in the thread
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/", blocking)])
    with TestClient(app, backend=anyio_backend, clock="virtual", timeout=1) as client:  # type: ignore[arg-type]
        began = client.clock_time()
        assert client.get("/").text == "done"
        assert client.clock_time() - began < 1


def test_a_loop_that_sync_code_blocks_ends_at_the_wall_backstop(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def blocking(scope: Scope, receive: Receive, send: Send) -> None:
        time.sleep(0.5)  # noqa: ASYNC251 - a sync call in an async app: the loop stands, and so does its clock
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    monkeypatch.setattr(asgitest._loop_thread, "WALL_BACKSTOP", 0.1)
    client = TestClient(blocking, backend=anyio_backend, clock="virtual")  # type: ignore[arg-type]
    with pytest.raises(ASGITimeoutError, match=r"0\.1s of real time on a loop with a virtual clock"):
        client.get("/")
    client.close()


def test_clocks_never_share_a_loop(anyio_backend: str) -> None:
    real = TestClient(realtime_app, backend=anyio_backend)  # type: ignore[arg-type]
    first = TestClient(realtime_app, backend=anyio_backend, clock="virtual")  # type: ignore[arg-type]
    second = TestClient(realtime_app, backend=anyio_backend, clock="virtual")  # type: ignore[arg-type]
    assert first._loop is second._loop
    assert first._loop is not real._loop
    assert first._loop.name == f"asgitest loop ({anyio_backend}, virtual clock)"
    for client in (real, first, second):
        client.close()


def test_bad_clock_arguments_fail_at_the_call(anyio_backend: str) -> None:
    with pytest.raises(ValueError, match="clock is 'real' or 'virtual'"):
        TestClient(realtime_app, clock="sundial")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend_options cannot set"):
        TestClient(realtime_app, backend="trio", backend_options={"clock": None}, clock="virtual")
    real = TestClient(realtime_app, backend=anyio_backend)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="advance\\(\\) needs a virtual clock"):
        real.advance(1)
    assert real.clock_time() == pytest.approx(time.monotonic(), abs=1)
    real.close()
    virtual = TestClient(realtime_app, backend=anyio_backend, clock="virtual")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds must be a finite number"):
        virtual.advance(-1)
    with pytest.raises(TypeError, match="seconds must be a number"):
        virtual.advance("1")  # type: ignore[arg-type]
    virtual.close()


def test_a_live_client_refuses_a_virtual_clock() -> None:
    from asgitest import LiveTestClient

    with pytest.raises(ValueError, match="in-process only"):
        LiveTestClient("http://127.0.0.1:1", clock="virtual")


# -- the async client, on a test loop whose clock is virtual ---------------------------------


@pytest.fixture(params=["trio", "asyncio"])
def virtual_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """anyio's plugin runs the test on trio's MockClock, or on a VirtualTimeLoop."""
    if request.param == "trio":
        from trio.testing import MockClock

        return "trio", {"clock": MockClock(autojump_threshold=0)}
    return "asyncio", {"loop_factory": lambda: VirtualTimeLoop(always=True)}


@pytest.fixture
def anyio_backend(virtual_backend: tuple[str, dict[str, Any]], request: pytest.FixtureRequest) -> Any:
    """The async tests below run on a virtual clock; the sync ones on the backend they name."""
    if request.node.get_closest_marker("anyio") is not None:
        return virtual_backend
    return virtual_backend[0]


@pytest.mark.anyio
async def test_the_async_client_s_bounds_follow_its_loop_s_virtual_clock() -> None:
    async with AsyncTestClient(realtime_app, timeout=7200) as client:
        began = anyio.current_time()
        with Wall() as wall:
            assert (await client.get("/hour")).text == "an hour later"
            async with client.websocket_connect("/silent") as ws:
                with pytest.raises(ASGITimeoutError, match=r"timed out after 30\.0s"):
                    await ws.receive_text(timeout=30)
        assert wall.spent < WALL
        assert anyio.current_time() - began >= 3630


def test_asyncio_keeps_the_timer_heap_the_virtual_loop_reads() -> None:
    """VirtualTimeLoop reads asyncio's private timer heap: its names, checked on every Python
    the suite runs on."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        handle = loop.call_later(5, lambda: None)
        scheduled = loop._scheduled  # type: ignore[attr-defined]
        assert scheduled == [handle]
        assert handle._when == pytest.approx(loop.time() + 5, abs=1)  # type: ignore[attr-defined]
        assert handle._cancelled is False  # type: ignore[attr-defined]
        handle.cancel()
        assert loop._timer_cancelled_count == 1  # type: ignore[attr-defined]
        assert loop._clock_resolution > 0  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_an_executor_call_holds_the_clock_as_a_worker_thread_does() -> None:
    import asyncio

    async def main() -> float:
        loop = asyncio.get_running_loop()
        loop.waiting(+1)  # type: ignore[attr-defined]  # as a sync client's call does
        began = loop.time()
        # The bound would fire at once if the clock jumped while the executor works.
        result = await asyncio.wait_for(loop.run_in_executor(None, time.sleep, 0.05), timeout=1)
        assert result is None
        return loop.time() - began

    loop = VirtualTimeLoop()
    try:
        assert loop.run_until_complete(main()) < 1
    finally:
        loop.close()
