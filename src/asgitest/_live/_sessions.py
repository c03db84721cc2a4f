"""The live WebSocket sessions: httpx2's WebSocket support behind the in-process sessions'
methods and exceptions.

What the two sessions mean by each call is :class:`_LiveSession`'s: the handshake's
arguments and results, the close state, and what httpx2's session gave or raised, as the
in-process session would say it. The sync and async classes only make httpx2's calls.
"""

from __future__ import annotations

import collections
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx2

from .._config import check_timeout, check_window
from .._errors import (
    ASGITimeoutError,
    ClientClosedError,
    UnexpectedMessage,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)
from .._scope import Handshake
from .._types import Message, Scope
from .._websocket_connection import ABNORMAL_CLOSURE
from .._websocket_messages import AsyncSessionMethods, SessionMethods, check_close, check_message, unexpected

if TYPE_CHECKING:
    from ._server import LiveServer

__all__ = ["AsyncLiveWebSocketSession", "LiveWebSocketSession"]


def _ws_url(client: httpx2.Client | httpx2.AsyncClient, url: httpx2.URL | str) -> str:
    merged = client.base_url.join(url) if not str(url).startswith(("ws://", "wss://")) else httpx2.URL(str(url))
    return str(merged.copy_with(scheme={"http": "ws", "https": "wss"}.get(merged.scheme, merged.scheme)))


def _handshake_failures() -> tuple[type[Exception], ...]:
    """What httpx2 raises when a handshake fails: an answer that is no upgrade, or a timeout."""
    from httpx2.websockets import WebSocketUpgradeError

    return (WebSocketUpgradeError, httpx2.TimeoutException, ASGITimeoutError)  # the last, the transport's


#: Headers of a handshake response that the server writes, not the app.
_HANDSHAKE_HEADERS = frozenset(
    {b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol", b"date", b"server"}
)


def _denial(error: Any) -> WebSocketDenialResponse:
    """The in-process denial for httpx2's upgrade error. httpx2 closes the response before
    raising, so its body is lost: a live denial has the status and headers only."""
    response = error.response
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HANDSHAKE_HEADERS]
    return WebSocketDenialResponse(response.status_code, headers=headers)


def _outcome(receive: Callable[..., Any], wait: float | None) -> Any:
    """What httpx2's sync ``receive`` gives within ``wait``, or what it raises."""
    try:
        return receive(timeout=wait)
    except Exception as exc:
        return exc


async def _async_outcome(receive: Callable[..., Awaitable[Any]], wait: float | None) -> Any:
    """What httpx2's async ``receive`` gives within ``wait``, or what it raises."""
    try:
        return await receive(timeout=wait)
    except Exception as exc:
        return exc


class _LiveSession:
    """What the sync and async live sessions share: all but httpx2's calls."""

    accepted_subprotocol: str | None
    extra_headers: list[tuple[bytes, bytes]] | None

    def __init__(self, client: httpx2.Client | httpx2.AsyncClient, handshake: Handshake, timeout: float | None) -> None:
        self._url = _ws_url(client, handshake.url)
        parsed = httpx2.URL(self._url)
        self._where = f"WebSocket {parsed.raw_path.decode('ascii', 'replace')} (live, {parsed.host}:{parsed.port})"
        self._server: LiveServer | None = getattr(client, "server", None)
        self._connect_args: dict[str, Any] = {
            "subprotocols": list(handshake.subprotocols or []) or None,
            "params": handshake.params,
            "headers": handshake.headers,
            "cookies": handshake.cookies,
            "auth": handshake.auth,
            "extensions": handshake.extensions,
            "follow_redirects": handshake.follow_redirects,
            "timeout": timeout,  # the handshake's bound is the session's, as in-process
        }
        self._timeout = timeout
        self._session: Any = None  # httpx2's, once connected
        self._client_address: tuple[str, int] | None = None
        self._closed: Message | None = None  # the close the app sent, or 1006 for a lost connection
        self._pending: collections.deque[Message] = collections.deque()  # seen by expect_nothing, not taken
        self._test_closed = ""
        self.accepted_subprotocol = None
        self.extra_headers = None

    @property
    def where(self) -> str:
        """The connection, as messages name it."""
        return self._where

    @property
    def scope(self) -> Scope:
        """The scope the app received for this connection (the server's own dict)."""
        if self._server is None:
            raise ClientClosedError(
                "only a client made by LiveServer.client() or async_client() knows the scopes its server served"
            )
        if self._client_address is None or self._client_address not in self._server.websocket_scopes:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        return self._server.websocket_scopes[self._client_address]

    def _handshake_failed(self, error: Exception) -> Exception:
        """What the in-process session raises for httpx2's failed handshake: the denial it
        was, or the timeout, which is ours."""
        from httpx2.websockets import WebSocketUpgradeError

        if isinstance(error, WebSocketUpgradeError):
            return _denial(error)
        return ASGITimeoutError(
            f"{self.where}: timed out after {self._timeout}s waiting for the app to accept the WebSocket"
        )

    def _connected(self, session: Any) -> None:
        self._session = session
        try:
            address = session.stream.get_extra_info("client_addr")
        except OSError:  # the server has closed the connection already (an app that returned)
            address = None
        self._client_address = None if address is None else (str(address[0]), int(address[1]))
        response = session.response
        if response is None:  # pragma: no cover - httpx2 always keeps the handshake response
            return
        self.accepted_subprotocol = response.headers.get("sec-websocket-protocol")
        # The headers the app added to its accept, without those of the handshake and the server.
        self.extra_headers = [
            (name.lower(), value) for name, value in response.headers.raw if name.lower() not in _HANDSHAKE_HEADERS
        ]

    def _require(self) -> Any:
        if self._session is None:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        return self._session

    def _outgoing(self, message: Message) -> tuple[str, str | bytes]:
        """The name of httpx2's method that sends ``message``, and what it sends; raises if
        ``message`` is no message to send, or if none can be sent any more."""
        check_message(message)
        self._require()
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; open a new session")
        if self._closed is not None:
            raise WebSocketDisconnect(self._closed["code"], self._closed["reason"])
        text = message.get("text")
        return ("send_text", text) if text is not None else ("send_bytes", bytes(message["bytes"]))

    def _wait(self, timeout: float | None) -> float | None:
        """The wait a ``receive*`` call asks for; raises if the test closed and the app did not."""
        self._require()
        if self._test_closed and self._closed is None:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; nothing more will arrive")
        return self._timeout if timeout is None else check_timeout(timeout, "timeout")

    def _known(self, *, take: bool) -> Message | None:
        """The message a receive gives without asking httpx2: one that ``expect_nothing``
        saw come, or the app's close again; None if there is none."""
        if self._pending:
            return self._pending.popleft() if take else self._pending[0]
        return None if self._closed is None else dict(self._closed)

    def _window(self, within: float) -> float:
        """The window of an ``expect_nothing``; raises where a receive would."""
        window = check_window(within, "within")
        self._wait(None)
        return window

    def _arrived(self, outcome: Any, window: float) -> None:
        """After an ``expect_nothing``'s wait: raise :class:`UnexpectedMessage` unless it timed
        out; the message stays for the next receive."""
        if isinstance(outcome, TimeoutError):
            return
        message = self._received(outcome, window)
        if message["type"] != "websocket.close":  # a close is kept as the close already
            self._pending.append(message)
        raise self._unexpected(message, window)

    def _unexpected(self, message: Message, window: float) -> UnexpectedMessage:
        return unexpected(self.where, message, window, "")

    def _received(self, outcome: Any, wait: float | None) -> Message:
        """The message the in-process session would give for what httpx2's ``receive`` gave
        (a wsproto event) or raised."""
        from httpx2.websockets import WebSocketDisconnect as Closed
        from httpx2.websockets import WebSocketNetworkError as Dropped
        from wsproto import events

        if isinstance(outcome, TimeoutError):
            raise ASGITimeoutError(f"{self.where}: timed out after {wait}s waiting for a message from the app")
        if isinstance(outcome, Closed):
            self._closed = {"type": "websocket.close", "code": outcome.code, "reason": outcome.reason or ""}
        elif isinstance(outcome, Dropped):  # the connection ended without a close frame
            self._closed = {"type": "websocket.close", "code": ABNORMAL_CLOSURE, "reason": ""}
        elif isinstance(outcome, BaseException):
            raise outcome
        elif isinstance(outcome, events.TextMessage):
            return {"type": "websocket.send", "text": outcome.data}
        elif isinstance(outcome, events.BytesMessage):
            return {"type": "websocket.send", "bytes": bytes(outcome.data)}
        else:  # pragma: no cover - httpx2 answers pings itself
            raise TypeError(f"unexpected WebSocket event {outcome!r}")
        return dict(self._closed)

    def _closing(self, code: int, reason: str | None, how: str | None = None) -> bool:
        """Check a close by the test and record it; False if the test had closed already."""
        check_close(code, reason)
        self._require()
        if self._test_closed:
            return False
        self._test_closed = how or f"closed by the test with code {code}"
        return True

    def _dropping(self) -> bool:
        """Record a drop by the test and cut the connection: the socket is shut down, without a
        close frame; False if the test had closed already."""
        if not self._closing(ABNORMAL_CLOSURE, None, "dropped by the test (no close frame)"):
            return False
        with contextlib.suppress(OSError):  # the server may have closed it already
            self._session.stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        return True


class LiveWebSocketSession(_LiveSession, SessionMethods):
    """A WebSocket session over a socket, with :class:`~asgitest.WebSocketSession`'s methods."""

    def __init__(self, client: httpx2.Client, handshake: Handshake, timeout: float | None) -> None:
        super().__init__(client, handshake, timeout)
        self._client = client
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> LiveWebSocketSession:
        try:
            self._connected(self._stack.enter_context(self._client.websocket(self._url, **self._connect_args)))
        except _handshake_failures() as exc:
            raise self._handshake_failed(exc) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        method, data = self._outgoing(message)
        getattr(self._session, method)(data)

    def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        wait = self._wait(timeout)
        known = self._known(take=True)
        return known if known is not None else self._received(_outcome(self._session.receive, wait), wait)

    def expect_nothing(self, within: float) -> None:
        """Assert that the app sends nothing, and does not close, for ``within`` seconds (see
        :meth:`AsyncWebSocketSession.expect_nothing <asgitest.AsyncWebSocketSession.expect_nothing>`)."""
        window = self._window(within)
        known = self._known(take=False)
        if known is not None:
            raise self._unexpected(known, window)
        self._arrived(_outcome(self._session.receive, window), window)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        if self._closing(code, reason):
            self._session.close(code, reason)

    def drop(self) -> None:
        """End the connection as a lost network would: the TCP connection is cut, without a
        close frame (see :meth:`AsyncWebSocketSession.drop <asgitest.AsyncWebSocketSession.drop>`)."""
        self._dropping()


class AsyncLiveWebSocketSession(_LiveSession, AsyncSessionMethods):
    """A WebSocket session over a socket, with :class:`~asgitest.AsyncWebSocketSession`'s methods."""

    def __init__(self, client: httpx2.AsyncClient, handshake: Handshake, timeout: float | None) -> None:
        super().__init__(client, handshake, timeout)
        self._client = client
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> AsyncLiveWebSocketSession:
        try:
            self._connected(
                await self._stack.enter_async_context(self._client.websocket(self._url, **self._connect_args))
            )
        except _handshake_failures() as exc:
            raise self._handshake_failed(exc) from None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        method, data = self._outgoing(message)
        await getattr(self._session, method)(data)

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        wait = self._wait(timeout)
        known = self._known(take=True)
        return known if known is not None else self._received(await _async_outcome(self._session.receive, wait), wait)

    async def expect_nothing(self, within: float) -> None:
        """Assert that the app sends nothing, and does not close, for ``within`` seconds (see
        :meth:`AsyncWebSocketSession.expect_nothing <asgitest.AsyncWebSocketSession.expect_nothing>`)."""
        window = self._window(within)
        known = self._known(take=False)
        if known is not None:
            raise self._unexpected(known, window)
        self._arrived(await _async_outcome(self._session.receive, window), window)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        if self._closing(code, reason):
            await self._session.close(code, reason)

    async def drop(self) -> None:
        """End the connection as a lost network would: the TCP connection is cut, without a
        close frame (see :meth:`AsyncWebSocketSession.drop <asgitest.AsyncWebSocketSession.drop>`)."""
        self._dropping()
