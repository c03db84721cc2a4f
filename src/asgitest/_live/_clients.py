"""The live clients: httpx2 clients, with httpx2's own transports, pointed at a live server,
with the in-process clients' API (``websocket_connect`` gives sessions with the same methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2

from .._client import WebSocketConnector, check_open, default_headers, session_timeout
from .._config import SUITE_DEFAULT, SuiteDefault, suite_defaults
from .._scope import Handshake
from .._types import CookieTypes, TimeoutTypes, UseClientDefault
from ._sessions import AsyncLiveWebSocketSession, LiveWebSocketSession
from ._transports import AsyncLiveTransport, LiveTransport

if TYPE_CHECKING:
    from ._server import LiveServer

__all__ = ["AsyncLiveTestClient", "LiveTestClient"]


class _LiveClient:
    """What both live clients add to their httpx2 client: the in-process clients' defaults, and
    their sessions' default wait.

    In-process options that have no meaning over a socket (``grace_period``, ``strict``,
    ``wait_for_app``...) are accepted and ignored, so one set of options serves both modes.
    """

    __test__ = False
    #: The server that made this client (:meth:`LiveServer.client`), if one did.
    server: LiveServer | None = None

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        cookies: CookieTypes | None = None,
        follow_redirects: bool = True,
        timeout: TimeoutTypes | SuiteDefault = SUITE_DEFAULT,
        **in_process_only: Any,
    ) -> None:
        if in_process_only.get("clock", "real") != "real":
            raise ValueError("clock='virtual' is in-process only: a server's loop follows real time")
        if isinstance(timeout, SuiteDefault):
            timeout = suite_defaults().timeout
        options: dict[str, Any] = {"base_url": base_url, "headers": default_headers(headers), "cookies": cookies}
        options.update(follow_redirects=follow_redirects, timeout=timeout, transport=self._new_transport())
        super().__init__(**options)  # the httpx2 client's
        self._default_wait = httpx2.Timeout(timeout).read
        self._raise_server_exceptions = bool(in_process_only.get("raise_server_exceptions", True))

    def _new_transport(self) -> httpx2.BaseTransport | httpx2.AsyncBaseTransport:
        raise NotImplementedError

    def _check(self) -> None:
        """Before and after a request, before a session: the client is open, and the app
        raised nothing on the server meanwhile (what it raised, or the rule it broke, is
        raised here, as in-process at the call that observes it; not with
        ``raise_server_exceptions=False``)."""
        check_open(self)  # type: ignore[arg-type]
        if self.server is not None and self._raise_server_exceptions:
            self.server.raise_error()


class LiveTestClient(_LiveClient, WebSocketConnector[LiveWebSocketSession], httpx2.Client):
    """A sync client of a live server, with :class:`~asgitest.TestClient`'s WebSocket API."""

    def _new_transport(self) -> LiveTransport:
        return LiveTransport()

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        self._check()
        response = super().send(request, **kwargs)
        self._check()
        return response

    def _websocket(self, handshake: Handshake, timeout: TimeoutTypes | UseClientDefault) -> LiveWebSocketSession:
        self._check()
        return LiveWebSocketSession(self, handshake, session_timeout(timeout, self._default_wait))


class AsyncLiveTestClient(_LiveClient, WebSocketConnector[AsyncLiveWebSocketSession], httpx2.AsyncClient):
    """An async client of a live server, with :class:`~asgitest.AsyncTestClient`'s WebSocket API."""

    def _new_transport(self) -> AsyncLiveTransport:
        return AsyncLiveTransport()

    async def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        self._check()
        response = await super().send(request, **kwargs)
        self._check()
        return response

    def _websocket(self, handshake: Handshake, timeout: TimeoutTypes | UseClientDefault) -> AsyncLiveWebSocketSession:
        self._check()
        return AsyncLiveWebSocketSession(self, handshake, session_timeout(timeout, self._default_wait))
