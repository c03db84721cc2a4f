"""The sync client: the async core on the shared loop thread, called through its portal.

Every :class:`TestClient` with the same backend (and backend options) runs its apps on
one event loop, in a thread shared by the whole process (see :mod:`._loop_thread`), as
every connection of a server runs on its loop: several clients, several users, reach one
app through its loop-bound objects. Each client still accounts for its own connections
and tasks, and its close ends only those. The classes here hold no protocol logic: each
call forwards to the :class:`~asgitest._engine.Engine` or to an
:class:`AsyncWebSocketSession`.

Each call costs one hand-off at most. A plain request schedules the start of its app
on the loop and waits on a lock that the loop releases when the exchange is concluded;
a WebSocket message the app already sent is taken without any.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal

import httpx2

from . import _report
from ._client import (
    WebSocketConnector,
    check_open,
    httpx_options,
    make_config,
    merge_url,
    session_timeout,
)
from ._config import SUITE_DEFAULT, SuiteDefault, check_seconds, check_timeout
from ._engine import Engine, reading_whole
from ._http_reads import StreamedExchange, WholeExchange
from ._http_response import ResponseBody
from ._loop_thread import LoopThread, Wakeup, shared_loop, within
from ._registry import Notice, emit
from ._scope import Handshake, websocket_request
from ._types import (
    ASGIApp,
    CookieTypes,
    Message,
    Scope,
    TimeoutTypes,
    UseClientDefault,
)
from ._websocket import AsyncWebSocketSession
from ._websocket_messages import SessionMethods

__all__ = ["TestClient", "WebSocketSession"]


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
        if isinstance(exchange, WholeExchange):
            if self.loop.clock is not None:  # the bounds are virtual: the loop keeps them
                return self.loop.call(exchange.response)
            return self._read_whole(exchange)
        return self.loop.call(self._start, exchange)

    def _read_whole(self, exchange: WholeExchange) -> httpx2.Response:
        """One hand-off: the loop starts the app, and concludes the exchange when it returns;
        the test's thread waits for that on a wake-up, within the exchange's bounds."""
        self.loop.check_thread()
        wakeup = Wakeup()
        self.loop.call_soon(exchange.begin, wakeup.set)
        finished = wakeup.wait(exchange.remaining)
        response = exchange.concluded() if finished else None
        return response if response is not None else self.loop.call(exchange.conclude, finished)

    async def _start(self, exchange: StreamedExchange) -> httpx2.Response:
        response = await exchange.response()
        body = response.stream
        if isinstance(body, ResponseBody):
            chunks = exchange.take_ready()
            if chunks is not None:
                body.ended()
                response.stream = _SentBody(chunks)
            else:
                response.stream = _SyncBody(body, self.loop)
        return response


class WebSocketSession(SessionMethods):
    """The sync face of :class:`~asgitest.AsyncWebSocketSession`: the same methods, blocking."""

    def __init__(self, session: AsyncWebSocketSession, loop: LoopThread) -> None:
        self._session = session
        self._loop = loop

    @property
    def scope(self) -> Scope:
        """The scope the app receives (the same dict: what the app writes into it shows here)."""
        return self._session.scope

    @property
    def where(self) -> str:
        """The connection, as messages name it (known once the session is entered)."""
        return self._session.where

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._session.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]] | None:
        return self._session.extra_headers

    def __enter__(self) -> WebSocketSession:
        self._loop.call(self._session._connect)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        emit(self._loop.call(self._session._exit_session, exc), stacklevel=2)

    def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        # Checked here, delivered without waiting: the next call on the loop runs after it.
        conn = self._session._require()
        conn.check_send(message)
        self._loop.call_soon(conn.deliver, message)

    def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        # A message the app already sent is taken here; otherwise the test's thread waits
        # for one without a call into the loop, and only a close or the app's end (which
        # the session interprets) needs one.
        session = self._session
        bound = session._bound(timeout)  # a bad timeout fails here, whatever is queued
        conn = session._conn
        message = None if conn is None else conn.receive_nowait()
        if message is None and conn is not None and self._loop.clock is None:  # a virtual clock's bound is the loop's
            self._loop.check_thread()
            wakeup = Wakeup()
            if conn.call_on_message(wakeup.set) and not wakeup.wait(within(bound)):
                raise conn.timeout_error(bound, "a message from the app")
            message = conn.receive_nowait()
        return message if message is not None else self._loop.call(session.receive, timeout)

    def expect_nothing(self, within: float) -> None:
        """Assert that the app sends nothing, and does not close, for ``within`` seconds (see
        :meth:`AsyncWebSocketSession.expect_nothing <asgitest.AsyncWebSocketSession.expect_nothing>`)."""
        self._loop.call(self._session.expect_nothing, within)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        emit(self._loop.call(self._session._close_session, code, reason), stacklevel=2)

    def drop(self) -> None:
        """End the connection as a lost network would, without a close frame (see
        :meth:`AsyncWebSocketSession.drop <asgitest.AsyncWebSocketSession.drop>`)."""
        emit(self._loop.call(self._session._drop_session), stacklevel=2)


class TestClient(WebSocketConnector[WebSocketSession], httpx2.Client):
    """An ``httpx2.Client`` that runs an ASGI app in-process: a drop-in for Starlette's TestClient.

    Every request, WebSocket session and lifespan runs on one event loop, with or
    without ``with``: the loop thread that all sync clients with the same ``backend``
    and ``backend_options`` share, started with the first of them. ``with
    TestClient(app) as client`` runs the app's lifespan; leaving it shuts the lifespan
    down and ends the client's open sessions and streams (the client can be entered
    again, as Starlette's can). Without ``with`` no lifespan runs; ``close()`` ends the
    client for good. Neither stops the shared loop.

    The arguments are those of :class:`~asgitest.AsyncTestClient`, plus ``backend``
    ("asyncio" or "trio") and ``backend_options`` for the loop thread, and ``clock``:
    "real", or "virtual" for a loop of its own whose clock jumps to the app's next timer
    whenever the app only waits on timers and the test waits on the client (see the time
    page, :meth:`advance` and :meth:`clock_time`). Calling a sync client from its own loop
    (from inside an app it runs) raises ``RuntimeError``.
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
        transcripts: bool = True,
        extensions: Mapping[str, Mapping[str, Any] | None] | None = None,
        clock: Literal["real", "virtual"] = "real",
    ) -> None:
        config = make_config(
            app,
            raise_server_exceptions,
            root_path,
            client,
            timeout,
            grace_period,
            wait_for_app,
            strict,
            transcripts,
            extensions,
        )
        self.app, self.app_state, self._engine = config.app, config.app_state, Engine(config)
        self._loop = shared_loop(backend, backend_options, clock)
        if self._loop.clock is not None:  # the transcripts tell the app's time
            config.clock = self._loop.clock_time
        # Started now (once per process and backend), so that no request's bound counts it.
        self._loop.portal()
        # A client dropped without close() has its connections ended when it is collected,
        # without waiting: the collector may run this on any thread, another loop's too.
        self._finalizer = weakref.finalize(self, _abandon, self._engine, self._loop)
        options = httpx_options(config, base_url, headers, follow_redirects, cookies)
        super().__init__(transport=_SyncTransport(self._engine, self._loop), **options)

    def _merge_url(self, url: httpx2.URL | str) -> httpx2.URL:
        return merge_url(self, url, super()._merge_url)

    def send(self, request: httpx2.Request, *, stream: bool = False, **kwargs: Any) -> httpx2.Response:
        check_open(self)
        token = reading_whole.set(not stream)
        try:
            return super().send(request, stream=stream, **kwargs)
        finally:
            reading_whole.reset(token)

    def __enter__(self) -> TestClient:
        check_open(self)
        self._loop.call(self._engine.startup)
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
        return self._loop.call(self._engine.close)

    def close(self) -> None:
        """End open sessions and streams, shut the lifespan down, close the client (the loop
        thread, shared, runs on for the other clients)."""
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
        wait = self._engine.config.timeout if timeout is None else check_timeout(timeout, "timeout")
        emit(self._loop.call(self._engine.wait_idle, wait), stacklevel=2)

    def advance(self, seconds: float) -> None:
        """Move the client's virtual clock ``seconds`` on, running on the way, in order, every
        timer that comes due (a heartbeat every 30 s fires three times in ``advance(95)``).

        Raises:
            RuntimeError: the client's clock is real.
        """
        check_open(self)
        self._loop.advance(check_seconds(seconds, "seconds"))

    def clock_time(self) -> float:
        """The time on the client's clock, in seconds: the virtual clock (0 when its loop
        started), or the monotonic clock that a real loop follows."""
        return self._loop.clock_time()

    def _websocket(self, handshake: Handshake, timeout: TimeoutTypes | UseClientDefault) -> WebSocketSession:
        check_open(self)
        request = websocket_request(self, handshake)
        session = self._engine.websocket(request, session_timeout(timeout, self._engine.config.timeout))
        return WebSocketSession(session, self._loop)


def _abandon(engine: Engine, loop: LoopThread) -> None:
    """A dropped client's close, started on the loop without waiting for it; what it finds
    (and what the app raised unobserved) becomes a finding, for nobody is left to raise it to."""

    async def close() -> None:
        try:
            notices = await engine.close()
            engine.registry.raise_unobserved()
        except Exception as exc:
            _report.record(UserWarning, f"an unclosed client, collected: {type(exc).__name__}: {exc}")
        else:
            for category, message in notices:
                _report.record(category, message)

    loop.submit(close)
