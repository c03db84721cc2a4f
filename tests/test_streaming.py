"""Streaming through both clients: incremental bodies, backpressure, disconnects, SSE, streamed
request bodies, timeouts and background work that outlives its response."""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgitest import (
    AppCancelledWarning,
    ASGITimeoutError,
    AsyncTestClient,
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    UnclosedConnectionWarning,
)
from asgitest._http_reads import BODY_BUFFER
from asgitest._request_body import REQUEST_CHUNK

from . import live
from .apps import read_body
from .conftest import SyncAdapter

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio

#: httpx2's ``aiter_text``/``aiter_lines``/``EventSource`` drop their inner async generators
#: unclosed when the reader stops early; trio warns about each when it collects them. That is
#: httpx2's, not asgitest's (our body iterator is no generator): allow it where a test stops early.
httpx2_abandons_generators = pytest.mark.filterwarnings(
    r"ignore:Async generator 'httpx2\._models\.Response\.aiter_:ResourceWarning",
    # and live, httpcore2's pooled stream
    r"ignore:Async generator 'httpcore2\._async\.connection_pool\.PoolByteStream:ResourceWarning",
)


async def first(items: Any, count: int) -> list[Any]:
    """The first ``count`` items of an async iterable, or of the sync iterable behind a SyncAdapter."""
    if isinstance(items, SyncAdapter):
        return await anyio.to_thread.run_sync(lambda: list(itertools.islice(iter(items.target), count)))
    async with contextlib.aclosing(aiter(items)) as iterator:
        return [await anext(iterator) for _ in range(count)]


async def start(send: Send, content_type: bytes = b"text/plain") -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})


async def chunk(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


# -- 1. incremental streaming and backpressure --------------------------------------------


@live.WAIT
async def test_stream_returns_at_the_response_start(make_client: Any) -> None:
    seen: list[str] = []

    async def headers_then_wait(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        # No body until the client goes away: only a client that returns at the start gets here.
        seen.append((await receive())["type"])

    client = make_client(headers_then_wait)
    async with client.stream("GET", "/wait") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain"
    await client.aclose()
    assert seen == ["http.disconnect"]


async def test_chunks_that_waited_unread_arrive_one_by_one(make_client: Any) -> None:
    """Each body message is one chunk to the test, as uvicorn writes and httpx2 reads it."""

    sent = threading.Event()  # the app may run on the sync client's loop thread

    async def three(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"three", "more_body": True})
        sent.set()
        await send({"type": "http.response.body", "body": b""})

    client = make_client(three)
    async with client.stream("GET", "/") as response:
        assert await anyio.to_thread.run_sync(sent.wait, 10)  # all three wait unread before the test reads
        chunks = [chunk async for chunk in response.aiter_raw()]
    await client.aclose()
    assert chunks == [b"one", b"two", b"three"]


@httpx2_abandons_generators
async def test_an_endless_stream_is_read_as_the_app_sends_it(make_client: Any) -> None:
    async def counter(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        for number in itertools.count():
            await chunk(send, f"{number}\n".encode())

    client = make_client(counter)
    async with client.stream("GET", "/count") as response:
        lines = await first(response.aiter_lines(), 50)
    await client.aclose()
    assert lines == [str(number) for number in range(50)]


@live.CHECK
async def test_an_app_writing_faster_than_the_test_reads_is_held_back(make_client: Any) -> None:
    size = 1024
    sent = [0]

    async def firehose(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        while True:
            await chunk(send, b"x" * size)
            sent[0] += 1

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        # Runs on the client's loop, like the firehose: returns once every task there is blocked.
        await anyio.wait_all_tasks_blocked()
        await start(send)
        await send({"type": "http.response.body", "body": str(sent[0]).encode()})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await (probe if scope["path"] == "/probe" else firehose)(scope, receive, send)

    client = make_client(app)
    async with client.stream("GET", "/firehose") as response:
        held = int((await client.get("/probe")).text)
        assert 0 < held * size <= BODY_BUFFER + size  # waits for the test instead of buffering on
        read = 0
        async with contextlib.aclosing(response.aiter_raw()) as chunks:
            async for data in chunks:
                read += len(data)
                if read >= BODY_BUFFER:
                    break
        later = int((await client.get("/probe")).text)
        assert later > held  # reading made room, and the app went on
        assert (later - read // size) * size <= BODY_BUFFER + size
    await client.aclose()


# -- 2. disconnect, not cancellation ------------------------------------------------------


def polling_app(seen: list[str]) -> Starlette:
    async def ticks(request: Request) -> StreamingResponse:
        async def generate() -> AsyncIterator[str]:
            for number in range(3):
                yield f"tick {number}\n"
            # Then wait for the client to go away, as a long poll would: no more sends.
            while not await request.is_disconnected():  # noqa: ASYNC110 - the app under test polls on purpose
                await anyio.sleep(0.001)  # simulated work between polls
            seen.append("saw the disconnect")

        return StreamingResponse(generate())

    return Starlette(routes=[Route("/ticks", ticks)])


@live.WAIT
@httpx2_abandons_generators
async def test_leaving_a_stream_is_a_disconnect_the_app_can_poll(make_client: Any) -> None:
    seen: list[str] = []
    client = make_client(polling_app(seen), grace_period=5)
    async with client.stream("GET", "/ticks") as response:
        assert await first(response.aiter_lines(), 3) == ["tick 0", "tick 1", "tick 2"]
    await client.aclose()  # no AppCancelledWarning: the app returned by itself
    assert seen == ["saw the disconnect"]


@live.WAIT
async def test_closing_the_response_is_a_disconnect(make_client: Any, flavor: str) -> None:
    seen: list[Any] = []

    async def waits_then_sends(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await chunk(send, b"hello")
        seen.append((await receive())["type"])
        try:
            await chunk(send, b"too late")
        except ClientDisconnected as exc:
            seen.append(exc)

    client = make_client(waits_then_sends)
    request = (client.target if flavor == "sync" else client).build_request("GET", "/hello")
    response = await client.send(request, stream=True)
    if flavor == "sync":
        response = SyncAdapter(response)
    assert await first(response.aiter_bytes(), 1) == [b"hello"]
    await response.aclose()
    await client.aclose()
    assert seen[0] == "http.disconnect"
    assert isinstance(seen[1], OSError)
    assert "GET /hello" in str(seen[1])
    assert "after the client disconnected (the test closed the response before its end" in str(seen[1])
    assert "last ASGI events of GET /hello" in str(seen[1])
    assert "that send raised ClientDisconnected in the app" in str(seen[1])


@live.TIMEOUT
async def test_an_app_ignoring_the_disconnect_is_cancelled_after_the_grace_period(make_client: Any) -> None:
    seen: list[str] = []

    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await chunk(send, b"one")
        try:
            await anyio.sleep_forever()  # never looks at receive()
        except anyio.get_cancelled_exc_class():
            seen.append("cancelled")
            raise

    client = make_client(stubborn, grace_period=0.1)
    started = time.monotonic()
    with pytest.warns(AppCancelledWarning, match=r"GET /stubborn .*still running 0\.1s after the client disconnected"):
        async with client.stream("GET", "/stubborn") as response:
            assert await first(response.aiter_bytes(), 1) == [b"one"]
    assert seen == ["cancelled"]
    assert time.monotonic() - started < 0.1 + 2
    await client.aclose()


# -- 3. server-sent events ----------------------------------------------------------------


def sse_app() -> Starlette:
    async def raw(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            for number in itertools.count():
                yield f"event: tick\nid: {number}\ndata: {number}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def library(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, Any]]:
            for number in itertools.count():
                yield {"event": "tick", "id": str(number), "data": str(number)}
                await anyio.lowlevel.checkpoint()

        return EventSourceResponse(events())

    return Starlette(routes=[Route("/raw", raw), Route("/library", library)])


@httpx2_abandons_generators
@pytest.mark.parametrize("path", ["/raw", "/library"])
async def test_endless_server_sent_events(make_client: Any, path: str) -> None:
    client = make_client(sse_app())
    async with client.sse(path) as source:
        events = await first(source, 20)
    await client.aclose()
    assert [(event.event, event.id, event.data) for event in events] == [
        ("tick", str(number), str(number)) for number in range(20)
    ]


# -- 4. request body streaming ------------------------------------------------------------


def recording_app(messages: list[Message], got_first: Any) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            messages.append(message)
            if len(messages) == 1:
                got_first.set()
            if not message.get("more_body"):
                break
        await start(send)
        await send({"type": "http.response.body", "body": b"done"})

    return app


@live.SCOPE
async def test_a_streamed_request_body_reaches_the_app_while_the_test_produces_it(
    make_client: Any, flavor: str
) -> None:
    messages: list[Message] = []
    produced: list[str] = []
    if flavor == "sync":
        got_first_sync = threading.Event()

        def sync_body() -> Iterator[bytes]:
            yield b"first"
            produced.append("first")
            assert got_first_sync.wait(5), "the app did not get the first chunk while the body was produced"
            yield b"second"

        client = make_client(recording_app(messages, got_first_sync))
        response = await client.post("/upload", content=sync_body())
    else:
        got_first = anyio.Event()

        async def async_body() -> AsyncIterator[bytes]:
            yield b"first"
            produced.append("first")
            with anyio.fail_after(5):
                await got_first.wait()
            yield b"second"

        client = make_client(recording_app(messages, got_first))
        response = await client.post("/upload", content=async_body())
    await client.aclose()
    assert response.text == "done"
    assert produced == ["first"]
    assert [(m["type"], m["body"], m["more_body"]) for m in messages] == [
        ("http.request", b"first", True),
        ("http.request", b"second", True),
        ("http.request", b"", False),
    ]


@live.SCOPE
async def test_a_failing_body_producer_fails_the_request_and_disconnects_the_app(make_client: Any, flavor: str) -> None:
    seen: list[Any] = []

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        seen.append(await receive())

    def sync_body() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the upload source broke")

    async def async_body() -> AsyncIterator[bytes]:
        yield b"first"
        raise OSError("the upload source broke")

    client = make_client(reader)
    with pytest.raises(OSError, match="the upload source broke") as caught:
        await client.post("/upload", content=sync_body() if flavor == "sync" else async_body())
    await client.aclose()
    assert seen == [{"type": "http.request", "body": b"first", "more_body": True}, {"type": "http.disconnect"}]
    assert "_body" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)][-1]


@live.SCOPE
async def test_a_large_body_reaches_the_app_in_chunks(make_client: Any) -> None:
    messages: list[Message] = []
    client = make_client(recording_app(messages, threading.Event()))
    body = bytes(range(256)) * (3 * REQUEST_CHUNK // 256 + 7)
    response = await client.post("/upload", content=body)
    await client.aclose()
    assert response.text == "done"
    assert all(len(m["body"]) <= REQUEST_CHUNK for m in messages)
    assert len(messages) == 4
    assert [m["more_body"] for m in messages] == [True, True, True, False]
    assert b"".join(m["body"] for m in messages) == body


@live.SCOPE
async def test_an_empty_body_is_one_message(make_client: Any) -> None:
    messages: list[Message] = []
    client = make_client(recording_app(messages, threading.Event()))
    await client.get("/")
    await client.aclose()
    assert messages == [{"type": "http.request", "body": b"", "more_body": False}]


# -- 5. timeouts and cancellation ---------------------------------------------------------


@live.TIMEOUT
async def test_a_response_start_timeout_disconnects_then_cancels_the_app(make_client: Any) -> None:
    seen: list[str] = []

    async def deaf(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            seen.append("cancelled")
            raise

    client = make_client(deaf, timeout=0.2, grace_period=0.1)
    started = time.monotonic()
    with pytest.raises(ASGITimeoutError) as caught:
        await client.get("/deaf")
    elapsed = time.monotonic() - started
    await client.aclose()
    assert seen == ["cancelled"]
    assert "GET /deaf: the app did not start a response within 0.2s" in str(caught.value)
    assert "still running after the 0.1s grace period, cancelled" in str(caught.value)
    assert 0.2 <= elapsed < 0.2 + 0.1 + 2


@live.TIMEOUT
async def test_a_body_timeout_disconnects_the_app(make_client: Any) -> None:
    seen: list[str] = []

    async def stalls(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await chunk(send, b"a")
        seen.append((await receive())["type"])

    client = make_client(stalls, timeout=0.2)
    async with client.stream("GET", "/stalls") as response:
        with pytest.raises(
            ASGITimeoutError, match=r"GET /stalls: timed out after 0\.2s waiting for the next body chunk"
        ):
            await response.aread()
    await client.aclose()
    assert seen == ["http.disconnect"]


@pytest.mark.parametrize("app_leaves", [True, False], ids=["app-returns", "app-ignores"])
async def test_cancelling_the_awaiting_task_disconnects_the_app(app_leaves: bool) -> None:
    """Async only: a sync call cannot be cancelled from outside."""
    seen: list[str] = []
    started = anyio.Event()
    done = anyio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            if app_leaves:
                seen.append((await receive())["type"])  # the request body
                seen.append((await receive())["type"])
            else:
                await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            seen.append("cancelled")
            raise
        finally:
            done.set()

    client = AsyncTestClient(slow, grace_period=0.1)
    async with anyio.create_task_group() as group:
        group.start_soon(client.get, "/slow")
        await started.wait()
        group.cancel_scope.cancel()
    with anyio.fail_after(5):
        await done.wait()
    if app_leaves:
        assert seen == ["http.request", "http.disconnect"]
        await client.aclose()
    else:
        assert seen == ["cancelled"]
        with pytest.warns(AppCancelledWarning, match="GET /slow"):
            await client.aclose()


# -- 6. background work made visible ------------------------------------------------------


def background_app(log: list[str]) -> Starlette:
    release = anyio.Event()

    async def work() -> None:
        log.append("background started")
        await release.wait()
        log.append("background failing")
        raise RuntimeError("the background task failed")

    async def start_work(request: Request) -> PlainTextResponse:
        return PlainTextResponse("accepted", background=BackgroundTask(work))

    async def release_work(request: Request) -> PlainTextResponse:
        release.set()
        return PlainTextResponse("released")

    return Starlette(routes=[Route("/work", start_work), Route("/release", release_work)])


@live.BACKGROUND
async def test_without_waiting_for_the_app_the_response_ends_with_its_body(make_client: Any) -> None:
    log: list[str] = []
    client = make_client(background_app(log), wait_for_app=False)
    response = await client.get("/work")
    assert response.text == "accepted"  # returned while the background task waits
    with pytest.raises(ASGITimeoutError, match=r"waiting for the app to be idle; still running: GET /work"):
        await client.wait_idle(timeout=0.1)
    await client.get("/release")
    with pytest.raises(RuntimeError, match="the background task failed") as caught:
        await client.wait_idle()
    assert "work" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert log == ["background started", "background failing"]
    await client.wait_idle()  # reported once
    await client.aclose()


@live.BACKGROUND
async def test_a_request_can_choose_not_to_wait_for_the_app(make_client: Any) -> None:
    log: list[str] = []
    client = make_client(background_app(log))
    response = await client.get("/work", extensions={"wait_for_app": False})
    assert response.text == "accepted"
    await client.get("/release")
    with pytest.raises(RuntimeError, match="the background task failed"):
        await client.wait_idle()
    await client.aclose()


@live.BACKGROUND
async def test_an_exception_nobody_waited_for_is_raised_at_close(make_client: Any) -> None:
    log: list[str] = []
    client = make_client(background_app(log), wait_for_app=False)
    await client.get("/work")
    await client.get("/release")
    with pytest.raises(RuntimeError, match="the background task failed"):
        await client.aclose()


@live.BACKGROUND
async def test_an_app_failing_after_the_test_left_its_stream_is_not_lost(make_client: Any) -> None:
    async def fails_on_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await chunk(send, b"one")
        assert (await receive())["type"] == "http.disconnect"
        raise RuntimeError("cleanup after the disconnect failed")

    client = make_client(fails_on_disconnect)
    async with client.stream("GET", "/feed") as response:
        assert await first(response.aiter_bytes(), 1) == [b"one"]
    with pytest.raises(RuntimeError, match="cleanup after the disconnect failed"):
        await client.wait_idle()
    await client.aclose()  # raised once, at the first call that could


@live.BACKGROUND
@pytest.mark.parametrize("wrap", ["raised from", "raised in place", "in a group"])
async def test_a_disconnect_the_framework_wraps_is_still_the_apps_way_out(make_client: Any, wrap: str) -> None:
    """Litestar raises its own exception *from* the ClientDisconnected; Quart (0.23) raises its
    own in its place (``from None``); task groups wrap it in a group."""

    async def wraps(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await chunk(send, b"one")
        assert (await receive())["type"] == "http.disconnect"
        try:
            await chunk(send, b"too late")
        except ClientDisconnected as exc:
            if wrap == "raised from":
                raise RuntimeError("exception caught after response started") from exc
            if wrap == "raised in place":
                raise LookupError("the framework's own disconnect error") from None
            raise ExceptionGroup("task group", [exc, ClientDisconnected("and another")]) from None

    client = make_client(wraps)
    async with client.stream("GET", "/feed") as response:
        assert await first(response.aiter_bytes(), 1) == [b"one"]
    await client.wait_idle()  # nothing to re-raise
    await client.aclose()


@live.CHECK
async def test_a_stream_left_open_is_reported_at_close(make_client: Any, flavor: str) -> None:
    seen: list[str] = []

    async def feed(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await chunk(send, b"news")
        seen.append((await receive())["type"])

    client = make_client(feed)
    request = (client.target if flavor == "sync" else client).build_request("GET", "/feed")
    await client.send(request, stream=True)  # never read nor closed
    with pytest.warns(
        UnclosedConnectionWarning, match=r"^response of GET /feed \(not read to its end nor closed\): 1 left open"
    ):
        await client.aclose()
    assert seen == ["http.disconnect"]


@live.BACKGROUND
async def test_wait_idle_with_nothing_running_returns(make_client: Any) -> None:
    client = make_client(background_app([]))
    await client.wait_idle()
    await client.aclose()


@live.BACKGROUND
async def test_close_waits_for_background_work_of_a_complete_response(make_client: Any) -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await send({"type": "http.response.body", "body": b"ok"})
        await anyio.sleep(0.05)  # simulated work after the response
        log.append("finished")

    client = make_client(app, wait_for_app=False)
    assert (await client.get("/")).text == "ok"
    await client.aclose()
    assert log == ["finished"]


# -- 7. exceptions after the response started ---------------------------------------------


@live.RAISE
async def test_an_exception_mid_stream_is_raised_at_the_read_that_sees_it(make_client: Any) -> None:
    async def breaks_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await chunk(send, b"partial")
        raise ValueError("the stream broke")

    client = make_client(breaks_mid_stream)
    async with client.stream("GET", "/broken") as response:
        assert response.status_code == 200
        async with contextlib.aclosing(response.aiter_bytes()) as iterator:
            assert await anext(iterator) == b"partial"
            with pytest.raises(ValueError, match="the stream broke") as caught:
                await anext(iterator)
    await client.aclose()
    assert "breaks_mid_stream" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]


@live.RAISE
async def test_a_stream_closed_unread_after_its_whole_body_waits_for_the_app(make_client: Any) -> None:
    """No early close: the app's background work is awaited, and its failure raised, at the close."""

    async def background() -> None:
        await anyio.sleep(0.05)  # simulated work
        raise RuntimeError("background failure")

    app = Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("hello", background=BackgroundTask(background)))]
    )
    client = make_client(app)
    with pytest.raises(RuntimeError, match="background failure"):
        async with client.stream("GET", "/") as response:
            assert response.status_code == 200  # nothing of the body is read
    await client.aclose()


@live.TIMEOUT
async def test_background_work_left_at_the_client_s_close_is_cancelled_after_the_grace_period(
    make_client: Any,
) -> None:
    cancelled = threading.Event()

    async def background() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi", background=BackgroundTask(background)))])
    client = make_client(app, grace_period=0.05, strict=False)
    response = await client.send(getattr(client, "target", client).build_request("GET", "/"), stream=True)
    # The body is whole; the app runs its background task. (The sync client's response is read
    # on the test's thread: its first chunk is there already.)
    chunks = response.iter_raw() if hasattr(client, "target") else response.aiter_raw()
    assert (next(chunks) if hasattr(client, "target") else await chunks.__anext__()) == b"hi"
    await client.aclose()
    assert cancelled.is_set()
    if not hasattr(client, "target"):
        await chunks.aclose()  # type: ignore[union-attr]


@live.RAISE
async def test_a_stream_whose_read_raised_closes_at_once(make_client: Any) -> None:
    """The read that raised the app's failure ended the exchange: the close waits for nothing."""

    async def late_failure(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"body"})
        raise RuntimeError("late failure")

    client = make_client(late_failure, timeout=0.5)  # a close that waited would time out
    with pytest.raises(RuntimeError, match="late failure"):
        async with client.stream("GET", "/") as response:
            await response.aread()
    await client.aclose()
