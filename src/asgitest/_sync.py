"""The sync client: the async core on a loop thread, called through one portal.

:class:`TestClient` owns one event-loop thread, started on first use and stopped
by ``close()`` or by leaving ``with``. Every request, WebSocket session and
lifespan of the client, and whatever the app spawns from them, runs on that one
loop. A stopped loop whose client left nothing on it (no task, and its unfinished
async generators finished as a loop's end would) waits idle for the next client:
clients in a row share a thread and a loop, never at the same time. The classes here
hold no protocol logic: each call forwards to the :class:`~asgitest._engine.Engine` or
to an :class:`AsyncWebSocketSession`.

Each call costs one hand-off at most. A plain request schedules the start of its app
on the loop and waits on a lock that the loop releases when the exchange is concluded;
a WebSocket message the app already sent is taken without any.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import sys
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, NamedTuple, TypeVar, cast

import anyio
import httpx2

from ._client import check_open, default_headers, make_config, merge_url, parse_base_url, session_timeout
from ._config import SUITE_DEFAULT, SuiteDefault
from ._engine import Engine, reading_whole
from ._http import HTTPExchange, ResponseBody
from ._registry import Notice, emit
from ._scope import websocket_request
from ._types import (
    ASGIApp,
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    Message,
    QueryParamTypes,
    Scope,
    TimeoutTypes,
    UseClientDefault,
)
from ._websocket import AsyncWebSocketSession

__all__ = ["TestClient", "WebSocketSession"]

T = TypeVar("T")


class LoopThread:
    """One event loop in a daemon thread, reachable through a :class:`Portal`."""

    def __init__(self, backend: str, backend_options: dict[str, Any] | None, name: str) -> None:
        self.backend = backend
        self.backend_options = backend_options or {}
        self.name = name
        self._lock = threading.Lock()
        self._runner: _Runner | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    def portal(self) -> Portal:
        """The portal of the running loop; starts the thread on first use."""
        runner = self._runner
        if runner is None:
            with self._lock:
                if self._runner is None:
                    self._runner = self._start()
                runner = self._runner
        return runner.portal

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` on the loop and return its result (one hand-off)."""
        return self.portal().call(function, *args)

    def call_soon(self, function: Callable[..., object], *args: Any) -> None:
        """Schedule the plain function ``function(*args)`` on the loop and return at once.

        Calls are run in the order they are made, and before any later :meth:`call`
        from the same thread. ``function`` must not raise.
        """
        self.portal().soon(function, *args)

    def _start(self) -> _Runner:
        idle = _take_idle(self.backend) if not self.backend_options else None
        if idle is not None:
            idle.thread.name = self.name
            return idle
        ready = threading.Event()
        failure: list[BaseException] = []
        generators: weakref.WeakSet[AsyncGenerator[Any, Any]] = weakref.WeakSet()
        portals: list[Portal] = []

        async def serve() -> None:
            stopped = anyio.Event()
            async with _spawner(self.backend) as spawn:
                _track_async_generators(generators)  # from here on: the loop's own are begun
                portals.append(Portal(_soon_scheduler(self.backend), spawn, stopped))
                ready.set()
                await stopped.wait()

        def main() -> None:
            try:
                anyio.run(serve, backend=self.backend, backend_options=self.backend_options)
            except BaseException as exc:
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=main, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        return _Runner(portals[0], thread, generators)

    def stop_soon(self) -> None:
        """Stop the loop without waiting for it: its thread ends by itself.

        For a client dropped without ``close()``, whose finalizer the garbage collector runs
        on whatever thread it is on, perhaps one running another event loop, which must
        not block on this one.
        """
        # No lock either: nothing else can reach this object once its client is garbage.
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.portal.stop()

    def stop(self, last: Callable[[], Awaitable[T]] | None = None) -> T | None:
        """Stop the loop and join its thread, or keep it idle for the next client if
        nothing of this one is left on it; a no-op if it is not running.

        ``last`` is run on the loop first, in the same hand-off as the check for what is
        left (a client's close); its result is returned. If it raises, the loop stops.
        """
        with self._lock:
            runner, self._runner = self._runner, None
            if runner is None:
                return None
            if threading.current_thread() is runner.thread:  # pragma: no cover - a collection on
                # the loop thread ran the finalizer: the loop cannot wait for itself.
                runner.portal.stop()
                return None
            keep = not self.backend_options and _claim_idle(self.backend)

            async def finish() -> tuple[T | None, bool]:
                result = None if last is None else await last()
                return result, keep and await _clean(self.backend, runner.generators)

            try:
                result, clean = runner.portal.call(finish)
            except BaseException:
                clean = False
                raise
            finally:
                if clean:
                    runner.thread.name = _IDLE_NAME
                    _release_idle(self.backend, runner)
                else:
                    if keep:
                        _release_idle(self.backend, None)
                    runner.stop()
            return result


class Portal:
    """Runs coroutine functions on a loop from other threads, and waits for their result.

    One scheduled callback and one lock per call: lighter than anyio's blocking
    portal (no future, no cancel scope per call), which a sync request pays for
    once. Calls start in the order they are made.
    """

    def __init__(
        self, soon: Callable[..., object], spawn: Callable[[Callable[[], Awaitable[None]]], None], stopped: anyio.Event
    ) -> None:
        self.soon = soon
        self._spawn = spawn
        self._stopped = stopped

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        done = threading.Lock()
        done.acquire()
        outcome: list[tuple[bool, Any]] = []

        async def run() -> None:
            try:
                outcome.append((True, await function(*args)))
            except Exception as exc:
                outcome.append((False, exc))
            except BaseException as exc:  # cancelled with the loop, or an interrupt: theirs too
                outcome.append((False, exc))
                raise
            finally:
                done.release()

        self.soon(self._spawn, run)
        done.acquire()
        succeeded, value = outcome[0]
        if succeeded:
            return cast(T, value)
        raise value

    def stop(self) -> None:
        """End the loop's run: its thread returns once the calls in flight are done."""
        self.soon(self._stopped.set)


class _Runner(NamedTuple):
    """A loop thread: its portal, the thread, and the async generators begun on it."""

    portal: Portal
    thread: threading.Thread
    generators: weakref.WeakSet[AsyncGenerator[Any, Any]]

    def stop(self) -> None:
        self.portal.stop()
        self.thread.join()


#: One idle loop thread per backend, left by a stopped client for the next one: starting a
#: thread and an event loop costs more than a request. A loop is kept only once nothing of
#: its last client is left on it (no task, no unfinished async generator), so what one
#: client's app leaves behind never meets the next.
_idle: dict[str, _Runner | None] = {}  # None: a slot held while a loop is checked
_idle_lock = threading.Lock()
_IDLE_NAME = "asgitest idle loop"


def _take_idle(backend: str) -> _Runner | None:
    with _idle_lock:
        if _idle.get(backend) is None:
            return None
        return _idle.pop(backend)


def _claim_idle(backend: str) -> bool:
    """Hold the idle slot of ``backend`` while a stopping loop is checked; False if it is taken."""
    with _idle_lock:
        if backend in _idle:
            return False
        _idle[backend] = None
        return True


def _release_idle(backend: str, runner: _Runner | None) -> None:
    """Fill the slot held by :func:`_claim_idle` with ``runner``, or free it (None)."""
    with _idle_lock:
        if runner is None:
            _idle.pop(backend, None)
        else:
            _idle[backend] = runner


async def _clean(backend: str, generators: weakref.WeakSet[AsyncGenerator[Any, Any]]) -> bool:
    """Whether the loop runs nothing but its own task (and this call); if so, finish the async
    generators the client's app left unfinished, as the end of the loop would have."""
    if backend != "trio":  # trio tasks cannot outlive the client's task groups
        import asyncio

        if len(asyncio.all_tasks()) > 2:  # more than the loop thread's main task, and this one
            return False
    while generators:
        with contextlib.suppress(Exception):
            await generators.pop().aclose()
    return True


def _track_async_generators(generators: weakref.WeakSet[AsyncGenerator[Any, Any]]) -> None:
    """From now on, on this thread, keep each async generator begun in ``generators`` too."""
    hooks = sys.get_asyncgen_hooks()

    def firstiter(generator: AsyncGenerator[Any, Any]) -> None:
        generators.add(generator)
        if hooks.firstiter is not None:
            hooks.firstiter(generator)

    sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=hooks.finalizer)


@atexit.register
def _stop_idle() -> None:  # pragma: no cover - runs at interpreter exit
    with _idle_lock:
        runners = [runner for runner in _idle.values() if runner is not None]
        _idle.clear()
    for runner in runners:
        runner.stop()


@contextlib.asynccontextmanager
async def _spawner(backend: str) -> AsyncIterator[Callable[[Callable[[], Awaitable[None]]], None]]:
    """A function that starts a task on the running loop from a plain callback there (where
    anyio cannot tell which loop runs); the block waits for the tasks it started."""
    if backend == "trio":
        import trio

        async with trio.open_nursery() as nursery:
            yield nursery.start_soon
        return
    import asyncio

    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def spawn(function: Callable[[], Awaitable[None]]) -> None:
        task: asyncio.Task[None] = loop.create_task(function())  # type: ignore[arg-type]
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        yield spawn
    finally:
        if tasks:
            await asyncio.wait(tasks)


def _soon_scheduler(backend: str) -> Callable[..., object]:
    """The running loop's thread-safe "run this callback soon", which anyio does not expose.

    Both schedulers are FIFO queues that a blocking portal's calls go through too,
    so a callback scheduled here runs before a portal call made after it.
    """
    if backend == "trio":
        import trio

        run_sync_soon = trio.lowlevel.current_trio_token().run_sync_soon

        def soon(function: Callable[..., object], *args: Any) -> None:
            # trio runs the callback in its system context; asyncio's scheduler, like a task
            # group, runs it in a copy of the caller's. Give trio the same: the test's
            # context variables reach the app (and what it spawns) on both backends.
            run_sync_soon(contextvars.copy_context().run, function, *args)

        return soon
    import asyncio

    return asyncio.get_running_loop().call_soon_threadsafe


class _SyncBody(httpx2.SyncByteStream):
    """A response body read from the test thread, a hand-off per chunk."""

    def __init__(self, body: ResponseBody, loop: LoopThread) -> None:
        self._body = body
        self._loop = loop

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._body.exchange
        while True:
            try:
                chunk = self._loop.call(exchange.next_chunk)
            except Exception:  # the app's failure, or a timeout: either way, the exchange is over
                self._body.ended()
                raise
            if chunk is None:
                self._body.ended()
                return
            yield chunk

    def close(self) -> None:
        if not self._body.is_ended:
            self._loop.call(self._body.disconnect)
            emit(self._body.exchange.registry.take_notices(), stacklevel=2)


class _SentBody(httpx2.SyncByteStream):
    """A response body the app had sent whole before the test read it: its chunks, as sent."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


class _SyncTransport(httpx2.BaseTransport):
    def __init__(self, engine: Engine, loop: LoopThread) -> None:
        self.engine = engine
        self.loop = loop

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        exchange = self.engine.exchange(request, sync_body=True, whole=reading_whole.get())
        if exchange.whole:
            return self._read_whole(exchange)
        return self.loop.call(self._start, exchange)

    def _read_whole(self, exchange: HTTPExchange) -> httpx2.Response:
        """One hand-off: the loop starts the app, and concludes the exchange when it returns;
        the test's thread waits for that with a plain lock, within the exchange's bounds."""
        settled = threading.Lock()
        settled.acquire()
        self.loop.call_soon(exchange.begin_whole, settled.release)
        finished = exchange.wait_from_thread(settled)
        response = exchange.concluded() if finished else None
        return response if response is not None else self.loop.call(exchange.conclude_whole, finished)

    async def _start(self, exchange: HTTPExchange) -> httpx2.Response:
        response = await exchange.start()
        body = response.stream
        if isinstance(body, ResponseBody):
            chunks = body.exchange.take_ready()
            if chunks is not None:
                body.ended()
                response.stream = _SentBody(chunks)
            else:
                response.stream = _SyncBody(body, self.loop)
        return response


class WebSocketSession:
    """The sync face of :class:`~asgitest.AsyncWebSocketSession`: the same methods, blocking."""

    def __init__(self, session: AsyncWebSocketSession, loop: LoopThread) -> None:
        self._session = session
        self._loop = loop

    @property
    def scope(self) -> Scope:
        """The scope the app receives (the same dict: what the app writes into it shows here)."""
        return self._session.scope

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._session.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]] | None:
        return self._session.extra_headers

    def __enter__(self) -> WebSocketSession:
        self._loop.call(self._session.connect)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        emit(self._loop.call(self._session.exit_session, exc), stacklevel=2)

    def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        # Checked here, delivered without waiting: the next call on the loop runs after it.
        self._session.check_send()
        self._loop.call_soon(self._session.deliver, message)

    def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        self.send(self._session.json_message(data, mode))

    def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        # A message the app already sent is taken here; otherwise the test's thread waits
        # for one without a call into the loop, and only a close or the app's end (which
        # the session interprets) needs one.
        message = self._session.receive_nowait()
        if message is None:
            self._session.wait_from_thread(timeout)
            message = self._session.receive_nowait()
        return message if message is not None else self._loop.call(self._session.receive, timeout)

    def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self._session.text_of(self.receive(timeout))

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self._session.bytes_of(self.receive(timeout))

    def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return self._session.json_of(self.receive(timeout), mode)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        emit(self._loop.call(self._session.close_session, code, reason), stacklevel=2)


class TestClient(httpx2.Client):
    """An ``httpx2.Client`` that runs an ASGI app in-process: a drop-in for Starlette's TestClient.

    The client owns one event loop, in a thread started on first use; every
    request, WebSocket session and lifespan runs on it, with or without ``with``.
    ``with TestClient(app) as client`` runs the app's lifespan; leaving it shuts the
    lifespan down, ends open sessions and stops the loop (the client can be entered
    again, as Starlette's can). Without ``with`` no lifespan runs; ``close()`` stops
    the loop for good.

    The arguments are those of :class:`~asgitest.AsyncTestClient`, plus ``backend``
    ("asyncio" or "trio") and ``backend_options`` for the loop thread.
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        timeout: TimeoutTypes | SuiteDefault = SUITE_DEFAULT,
        grace_period: float | None = None,
        wait_for_app: bool = True,
        strict: bool | None = None,
    ) -> None:
        config = make_config(
            app, raise_server_exceptions, root_path, client, timeout, grace_period, wait_for_app, strict
        )
        self.app = config.app
        self.app_state = config.app_state
        self._engine = Engine(config)
        self._loop = LoopThread(backend, backend_options, f"asgitest loop of {config.label}")
        # The loop thread must not keep the client alive: a client dropped without
        # close() stops its loop when it is collected.
        self._finalizer = weakref.finalize(self, self._loop.stop_soon)
        super().__init__(
            base_url=parse_base_url(base_url),
            headers=default_headers(headers),
            transport=_SyncTransport(self._engine, self._loop),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=config.timeout,
        )

    def _merge_url(self, url: httpx2.URL | str) -> httpx2.URL:
        return merge_url(self, url, super()._merge_url)

    def send(self, request: httpx2.Request, *, stream: bool = False, **kwargs: Any) -> httpx2.Response:
        token = reading_whole.set(not stream)
        try:
            return super().send(request, stream=stream, **kwargs)
        finally:
            reading_whole.reset(token)

    def __enter__(self) -> TestClient:
        check_open(self)
        try:
            self._loop.call(self._engine.startup)
        except BaseException:
            self._loop.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._engine.finish_close(self._shutdown(), raising=exc_type is not None, stacklevel=2)

    def _shutdown(self) -> list[Notice]:
        if not self._loop.running:
            return []
        return self._loop.stop(self._engine.close) or []

    def close(self) -> None:
        """End open sessions, shut the lifespan down, stop the loop thread, close the client."""
        try:
            notices = self._shutdown()
        finally:
            super().close()
        self._engine.finish_close(notices, raising=False, stacklevel=2)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until every app task this client started for HTTP has finished (see
        :meth:`AsyncTestClient.wait_idle <asgitest.AsyncTestClient.wait_idle>`)."""
        if not self._loop.running:
            self._engine.registry.raise_unobserved()
            return
        wait = self._engine.config.timeout if timeout is None else timeout
        emit(self._loop.call(self._engine.wait_idle, wait), stacklevel=2)

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> WebSocketSession:
        """A WebSocket session to ``url``; ``with`` performs the handshake (see
        :meth:`AsyncTestClient.websocket_connect <asgitest.AsyncTestClient.websocket_connect>`)."""
        check_open(self)
        request = websocket_request(self, url, subprotocols, params, headers, cookies, auth, extensions, **body)
        session = self._engine.websocket(request, session_timeout(timeout, self._engine.config.timeout))
        return WebSocketSession(session, self._loop)
