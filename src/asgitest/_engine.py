"""The async core of a client: runs the app for HTTP, WebSocket and lifespan on one loop.

Both clients hold one :class:`Engine`. :class:`~asgitest.AsyncTestClient` calls it
on the test's own loop; :class:`~asgitest.TestClient` calls it on its loop thread
through a portal. Every behaviour lives here, so both clients share it.
"""

from __future__ import annotations

import contextvars

import httpx2

from ._backend import current_loop
from ._config import ClientConfig
from ._errors import ASGITestWarning
from ._http_reads import StreamedExchange, WholeExchange, open_exchange
from ._lifespan import Lifespan
from ._registry import Notice, Registry, emit
from ._websocket import AsyncWebSocketSession

__all__ = ["Engine", "EngineTransport", "reading_whole"]

#: True while a client sends a request whose whole response it reads before returning
#: (``send(stream=False)``: every call but ``stream()``). The engine then collects the
#: body as the app sends it, with one wait, instead of streaming it to the test.
reading_whole: contextvars.ContextVar[bool] = contextvars.ContextVar("asgitest_reading_whole", default=False)


class Engine:
    """Runs one app for one client."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.registry = Registry(config)
        self.lifespan: Lifespan | None = None
        self.lifespan_loop: object = None  # the loop the lifespan runs on (see current_loop)
        self.loop_noticed = False
        self.joined: Engine | None = None  # the engine whose lifespan this one shares (see join)

    def join(self, host: Engine) -> None:
        """Share ``host``'s lifespan, as the connections of one server share its app's: its
        state reaches this engine's scopes, and this engine runs no lifespan of its own."""
        if self.lifespan is not None:
            raise RuntimeError(f"{self.config.label} runs a lifespan of its own; it cannot share another's")
        self.joined = host.joined or host
        self.config.app_state = self.joined.config.app_state

    def check_loop(self) -> None:
        """Note, once, a request made on another loop than the running lifespan's: what the
        lifespan made (pools, locks, queues) belongs to that loop, and fails on this one.
        For the async client, whose caller's loop is the one that runs the app."""
        if self.lifespan is not None and not self.loop_noticed and current_loop() is not self.lifespan_loop:
            self.loop_noticed = True
            self.registry.notice(
                ASGITestWarning,
                f"{self.config.label}: a request or WebSocket runs on another event loop than the one the "
                "client was entered on, where the app's lifespan runs; objects the lifespan made belong to "
                "that loop. Enter the client on the loop of the test (with pytest-asyncio, give the "
                "fixture the test's loop scope).",
            )

    async def handle(self, request: httpx2.Request, *, sync_body: bool = False, whole: bool = False) -> httpx2.Response:
        """Run the app for ``request``; return when the response starts (the body streams).

        ``sync_body`` says a streamed request body is a sync iterator (the sync client's).
        ``whole`` says the test reads the whole body at once: the response is returned
        once the app has returned, with its body (unless ``wait_for_app`` is off).
        """
        return await self.exchange(request, sync_body=sync_body, whole=whole).response()

    def exchange(
        self, request: httpx2.Request, *, sync_body: bool = False, whole: bool = False
    ) -> WholeExchange | StreamedExchange:
        """The exchange :meth:`handle` runs, for a caller that drives it itself (the sync client)."""
        return open_exchange(request, self.config, self.registry, sync_body=sync_body, whole=whole)

    def websocket(self, request: httpx2.Request, timeout: float | None) -> AsyncWebSocketSession:
        """A session for the handshake ``request``; it connects when entered."""
        return AsyncWebSocketSession(request, self.config, self.registry, timeout)

    async def startup(self) -> None:
        """Run the lifespan startup (at most one lifespan at a time; none for an engine that
        shares another's)."""
        if self.joined is not None:
            return
        if self.lifespan is not None:
            raise RuntimeError("the client's lifespan is already running; leave the client before re-entering")
        lifespan = Lifespan(self.config, self.registry)
        self.lifespan = lifespan
        self.lifespan_loop = current_loop()
        self.loop_noticed = False
        try:
            await lifespan.startup()
        except BaseException:  # the app failed, or the test's wait was cancelled or interrupted
            self.lifespan = None
            lifespan.abandon()
            raise

    async def wait_idle(self, timeout: float | None) -> list[Notice]:
        """Wait until no HTTP app task of the client runs; re-raise what one raised unseen.

        Returns the warnings queued meanwhile, for the client to emit on the test's thread.
        """
        await self.registry.wait_idle(timeout)
        return self.registry.take_notices()

    async def close(self) -> list[Notice]:
        """End open connections and shut the lifespan down.

        Returns the warnings to emit on the test's own thread (apps cancelled after
        their grace period, closed WebSockets the app still references). What an app
        raised after the test stopped reading stays on the registry, for the client
        to re-raise when no other exception is in flight.
        """
        lifespan, self.lifespan = self.lifespan, None
        elsewhere = lifespan is not None and current_loop() is not self.lifespan_loop
        try:
            await self.registry.close_all()
            if lifespan is not None and not elsewhere:
                await lifespan.shutdown()
            await self.registry.end_adopted()
        finally:
            notices = self.registry.take_notices() + self.registry.stale()
        if elsewhere:
            raise RuntimeError(
                f"{self.config.label} was entered on one event loop and left on another: the app's lifespan "
                "runs on the first, and its shutdown cannot run here (it was skipped). Enter and leave a "
                "client on the same loop (with pytest-asyncio, give the fixture the test's loop scope)."
            )
        return notices

    def finish_close(self, notices: list[Notice], *, raising: bool, stacklevel: int) -> None:
        """On the test's thread, after :meth:`close`: emit its warnings, then re-raise the
        first app exception nobody observed, unless ``raising`` (another exception is in flight)."""
        if raising:  # the test is failing already: its own exception matters, not what is left
            return
        emit(notices, stacklevel + 1)
        self.registry.raise_unobserved()


class EngineTransport(httpx2.AsyncBaseTransport):
    """The httpx2 transport of :class:`~asgitest.AsyncTestClient`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.engine.handle(request, whole=reading_whole.get())

    async def aclose(self) -> None:
        """Nothing to do: the client closes its engine itself, before closing the transport."""
