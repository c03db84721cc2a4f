"""The async core of a client: runs the app for HTTP, WebSocket and lifespan on one loop.

Both clients hold one :class:`Engine`. :class:`~asgitest.AsyncTestClient` calls it
on the test's own loop; :class:`~asgitest.TestClient` calls it on its loop thread
through a blocking portal. Every behaviour lives here, so both clients share it.
"""

from __future__ import annotations

import httpx2

from ._config import ClientConfig
from ._http import HTTPExchange
from ._lifespan import Lifespan
from ._registry import Registry, warn_stale
from ._websocket import AsyncWebSocketSession

__all__ = ["Engine", "EngineTransport"]


class Engine:
    """Runs one app for one client."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.registry = Registry(config)
        self.lifespan: Lifespan | None = None

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Run the app for ``request``; return when the response starts (the body streams)."""
        return await HTTPExchange(request, self.config, self.registry).start()

    def websocket(self, request: httpx2.Request, timeout: float | None) -> AsyncWebSocketSession:
        """A session for the handshake ``request``; it connects when entered."""
        return AsyncWebSocketSession(request, self.config, self.registry, timeout)

    async def startup(self) -> None:
        """Run the lifespan startup (at most one lifespan at a time)."""
        if self.lifespan is not None:
            raise RuntimeError("the client's lifespan is already running; leave the client before re-entering")
        lifespan = Lifespan(self.config)
        self.lifespan = lifespan
        try:
            await lifespan.startup()
        except BaseException:
            self.lifespan = None
            raise

    async def close(self) -> list[str]:
        """End open connections and shut the lifespan down.

        Returns the warnings about closed WebSockets the app still references, for
        the client to emit on the test's own thread (see ``warn_stale``).
        """
        try:
            await self.registry.close_all()
            if self.lifespan is not None:
                lifespan, self.lifespan = self.lifespan, None
                await lifespan.shutdown()
        finally:
            stale = self.registry.stale()
        return stale


class EngineTransport(httpx2.AsyncBaseTransport):
    """The httpx2 transport of :class:`~asgitest.AsyncTestClient`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.engine.handle(request)

    async def aclose(self) -> None:
        warn_stale(await self.engine.close(), stacklevel=4)
