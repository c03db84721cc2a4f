"""The live WebSocket sessions: httpx2's WebSocket support behind the in-process sessions'
methods and exceptions."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx2

from .._errors import (
    ASGITimeoutError,
    ClientClosedError,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)
from .._types import (
    CookieTypes,
    HeaderTypes,
    Message,
    QueryParamTypes,
    Scope,
)
from .._websocket_connection import ABNORMAL_CLOSURE
from .._websocket_messages import bytes_of, json_message, json_of, text_of

if TYPE_CHECKING:
    from ._server import LiveServer

__all__ = ["AsyncLiveWebSocketSession", "LiveWebSocketSession"]


def _ws_url(client: httpx2.Client | httpx2.AsyncClient, url: httpx2.URL | str) -> str:
    merged = client.base_url.join(url) if not str(url).startswith(("ws://", "wss://")) else httpx2.URL(str(url))
    return str(merged.copy_with(scheme={"http": "ws", "https": "wss"}.get(merged.scheme, merged.scheme)))


def _message(event: Any) -> Message:
    """A wsproto event as the message the in-process session would give."""
    from wsproto import events

    if isinstance(event, events.TextMessage):
        return {"type": "websocket.send", "text": event.data}
    if isinstance(event, events.BytesMessage):
        return {"type": "websocket.send", "bytes": bytes(event.data)}
    raise TypeError(f"unexpected WebSocket event {event!r}")  # pragma: no cover - pings are handled below


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


class _SessionBase:
    """What the sync and async live sessions share: the handshake's results and the close state."""

    accepted_subprotocol: str | None
    extra_headers: list[tuple[bytes, bytes]] | None

    def __init__(self, url: str, timeout: float | None, server: LiveServer | None) -> None:
        parsed = httpx2.URL(url)
        self._server = server
        self._client_address: tuple[str, int] | None = None
        self.where = f"WebSocket {parsed.raw_path.decode('ascii', 'replace')} (live, {parsed.host}:{parsed.port})"
        self._timeout = timeout
        self._closed: Message | None = None
        self._test_closed = ""
        self.accepted_subprotocol = None
        self.extra_headers = None

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

    def _connected(self, session: Any) -> None:
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

    def _close_message(self, code: int, reason: str | None) -> Message:
        self._closed = {"type": "websocket.close", "code": code, "reason": reason or ""}
        return dict(self._closed)

    def _check_open(self, session: Any) -> None:
        if session is None:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; open a new session")
        if self._closed is not None:
            raise WebSocketDisconnect(self._closed["code"], self._closed["reason"])

    def _timeout_error(self, timeout: float | None) -> ASGITimeoutError:
        return ASGITimeoutError(f"{self.where}: timed out after {timeout}s waiting for a message from the app")

    def text_of(self, message: Message) -> str:
        return text_of(message, self.where)

    def bytes_of(self, message: Message) -> bytes:
        return bytes_of(message, self.where)

    def json_of(self, message: Message, mode: Literal["text", "binary"] = "text") -> Any:
        return json_of(message, mode, self.where)


class LiveWebSocketSession(_SessionBase):
    """A WebSocket session over a socket, with :class:`~asgitest.WebSocketSession`'s methods."""

    def __init__(
        self,
        client: httpx2.Client,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None,
        params: QueryParamTypes | None,
        headers: HeaderTypes | None,
        cookies: CookieTypes | None,
        timeout: float | None,
        request: dict[str, Any],
    ) -> None:
        self._url = _ws_url(client, url)
        super().__init__(self._url, timeout, getattr(client, "server", None))
        self._client = client
        self._connect_args: dict[str, Any] = {
            "subprotocols": list(subprotocols or []) or None,
            "params": params,
            "headers": headers,
            "cookies": cookies,
            **request,
        }
        self._stack = contextlib.ExitStack()
        self._session: Any = None

    def __enter__(self) -> LiveWebSocketSession:
        from httpx2.websockets import WebSocketUpgradeError

        try:
            self._session = self._stack.enter_context(self._client.websocket(self._url, **self._connect_args))
        except WebSocketUpgradeError as exc:
            raise _denial(exc) from None
        self._connected(self._session)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.close()

    def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        self._check_open(self._session)
        text = message.get("text")
        if text is not None:
            self._session.send_text(text)
        else:
            self._session.send_bytes(bytes(message["bytes"]))

    def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        self.send(json_message(data, mode))

    def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        from httpx2.websockets import WebSocketDisconnect as Closed
        from httpx2.websockets import WebSocketNetworkError as Dropped

        if self._closed is not None:
            return dict(self._closed)
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; nothing more will arrive")
        wait = self._timeout if timeout is None else timeout
        try:
            event = self._session.receive(timeout=wait)
        except TimeoutError:
            raise self._timeout_error(wait) from None
        except Closed as exc:
            return self._close_message(exc.code, exc.reason)
        except Dropped:  # the connection ended without a close frame: abnormal closure
            return self._close_message(ABNORMAL_CLOSURE, None)
        return _message(event)

    def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.text_of(self.receive(timeout))

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.bytes_of(self.receive(timeout))

    def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return self.json_of(self.receive(timeout), mode)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        self._test_closed = self._test_closed or f"closed by the test with code {code}"
        self._session.close(code, reason)


class AsyncLiveWebSocketSession(_SessionBase):
    """A WebSocket session over a socket, with :class:`~asgitest.AsyncWebSocketSession`'s methods."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None,
        params: QueryParamTypes | None,
        headers: HeaderTypes | None,
        cookies: CookieTypes | None,
        timeout: float | None,
        request: dict[str, Any],
    ) -> None:
        self._url = _ws_url(client, url)
        super().__init__(self._url, timeout, getattr(client, "server", None))
        self._client = client
        self._connect_args: dict[str, Any] = {
            "subprotocols": list(subprotocols or []) or None,
            "params": params,
            "headers": headers,
            "cookies": cookies,
            **request,
        }
        self._stack = contextlib.AsyncExitStack()
        self._session: Any = None

    async def __aenter__(self) -> AsyncLiveWebSocketSession:
        from httpx2.websockets import WebSocketUpgradeError

        try:
            self._session = await self._stack.enter_async_context(
                self._client.websocket(self._url, **self._connect_args)
            )
        except WebSocketUpgradeError as exc:
            raise _denial(exc) from None
        self._connected(self._session)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._stack.aclose()

    async def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        self._check_open(self._session)
        text = message.get("text")
        if text is not None:
            await self._session.send_text(text)
        else:
            await self._session.send_bytes(bytes(message["bytes"]))

    async def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        await self.send(json_message(data, mode))

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        from httpx2.websockets import WebSocketDisconnect as Closed
        from httpx2.websockets import WebSocketNetworkError as Dropped

        if self._closed is not None:
            return dict(self._closed)
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; nothing more will arrive")
        wait = self._timeout if timeout is None else timeout
        try:
            event = await self._session.receive(timeout=wait)
        except TimeoutError:
            raise self._timeout_error(wait) from None
        except Closed as exc:
            return self._close_message(exc.code, exc.reason)
        except Dropped:  # the connection ended without a close frame: abnormal closure
            return self._close_message(ABNORMAL_CLOSURE, None)
        return _message(event)

    async def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.text_of(await self.receive(timeout))

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.bytes_of(await self.receive(timeout))

    async def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return self.json_of(await self.receive(timeout), mode)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        self._test_closed = self._test_closed or f"closed by the test with code {code}"
        await self._session.close(code, reason)
