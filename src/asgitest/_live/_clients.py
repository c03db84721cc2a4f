"""The live clients: httpx2 clients, with httpx2's own transports, pointed at a live server,
with the in-process clients' API (``websocket_connect`` gives sessions with the same methods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx2

from .._client import check_open, default_headers
from .._config import SUITE_DEFAULT, SuiteDefault, suite_defaults
from .._types import (
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    TimeoutTypes,
    UseClientDefault,
)
from ._sessions import AsyncLiveWebSocketSession, LiveWebSocketSession

if TYPE_CHECKING:
    from ._server import LiveServer

__all__ = ["AsyncLiveTestClient", "LiveTestClient"]


def _client_kwargs(
    base_url: str,
    headers: dict[str, str] | None,
    cookies: CookieTypes | None,
    follow_redirects: bool,
    timeout: TimeoutTypes,
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "headers": default_headers(headers),
        "cookies": cookies,
        "follow_redirects": follow_redirects,
        "timeout": timeout,
    }


class LiveTestClient(httpx2.Client):
    """A sync client of a live server, with :class:`~asgitest.TestClient`'s WebSocket API.

    In-process options that have no meaning over a socket (``grace_period``,
    ``strict``, ``wait_for_app``...) are accepted and ignored, so one set of
    options serves both modes.
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
        if isinstance(timeout, SuiteDefault):
            timeout = suite_defaults().timeout
        super().__init__(**_client_kwargs(base_url, headers, cookies, follow_redirects, timeout))
        self._default_wait = httpx2.Timeout(timeout).read

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: float | None = None,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> LiveWebSocketSession:
        """A WebSocket session to ``url``; ``with`` performs the handshake."""
        check_open(self)
        request = {"auth": auth, "extensions": extensions, "follow_redirects": follow_redirects}
        return LiveWebSocketSession(
            self, url, subprotocols, params, headers, cookies, timeout or self._default_wait, request
        )


class AsyncLiveTestClient(httpx2.AsyncClient):
    """An async client of a live server, with :class:`~asgitest.AsyncTestClient`'s WebSocket API."""

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
        if isinstance(timeout, SuiteDefault):
            timeout = suite_defaults().timeout
        super().__init__(**_client_kwargs(base_url, headers, cookies, follow_redirects, timeout))
        self._default_wait = httpx2.Timeout(timeout).read

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: float | None = None,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> AsyncLiveWebSocketSession:
        """A WebSocket session to ``url``; ``async with`` performs the handshake."""
        check_open(self)
        request = {"auth": auth, "extensions": extensions, "follow_redirects": follow_redirects}
        return AsyncLiveWebSocketSession(
            self, url, subprotocols, params, headers, cookies, timeout or self._default_wait, request
        )
