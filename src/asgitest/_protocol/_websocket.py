"""The websocket scope, from the app's side: which message may come when (rules ``ws-*``).

A send on a connection the client has closed raises an ``OSError`` subclass in
the app; that check lives in the I/O shell, which knows the client's side.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from ._checks import Checker
from ._transcript import Transcript

__all__ = ["WebSocketProtocol", "WebSocketState"]


class WebSocketState(enum.Enum):
    CONNECTING = "the handshake was pending"
    RESPONDING = "sending a denial response"
    CONNECTED = "the connection was accepted"
    CLOSED = "the app had closed the connection"


_CONNECTING, _RESPONDING, _CONNECTED, _CLOSED = WebSocketState

#: Close codes an endpoint may send (RFC 6455, section 7.4).
_SENDABLE_CODES = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))


class WebSocketProtocol(Checker):
    """Tracks one WebSocket connection; :meth:`app_sends` validates each message the app sends.

    ``offered`` are the subprotocols the client asked for.
    """

    __slots__ = ("offered", "state")

    def __init__(
        self,
        where: str,
        *,
        strict: bool = True,
        transcript: Transcript | None = None,
        offered: Sequence[str] = (),
    ) -> None:
        super().__init__(where, strict=strict, transcript=transcript)
        self.state = _CONNECTING
        self.offered = tuple(offered)

    def app_received(self, message: Mapping[str, Any]) -> None:
        """Record a message the app received (for the transcript)."""
        self.transcript.app_received(message)

    def app_sends(self, message: Any) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        self.transcript.app_sent(message)
        state = self.state
        kind = self.message_type(message, state)
        if state is _CLOSED and kind in _HANDLERS:
            raise self.error("ws-after-close", message, state)
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise self.error("ws-unknown-type", message, state)
        handler(self, message, state)
        return kind

    def app_returned(self) -> None:
        """Returning breaks no rule: a server closes the connection (1006) or denies the
        handshake (403) for the app."""
        return None

    def _accept(self, message: Mapping[str, Any], state: WebSocketState) -> None:
        if state is not _CONNECTING:
            raise self.error("ws-accept-once" if state is _CONNECTED else "ws-denial-in-handshake", message, state)
        subprotocol = message.get("subprotocol")
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise self.error("ws-subprotocol-str", message, state)
            if subprotocol not in self.offered:
                self.broken("ws-subprotocol-offered", message, state, f"The client offered {list(self.offered)}.")
        self.check_headers(message, state)
        for name, _ in message.get("headers", ()):
            if bytes(name).lower() == b"sec-websocket-protocol":
                self.broken("ws-accept-protocol-header", message, state)
        self.state = _CONNECTED

    def _send(self, message: Mapping[str, Any], state: WebSocketState) -> None:
        if state is not _CONNECTED:
            rule = "ws-send-after-accept" if state is _CONNECTING else "ws-denial-in-handshake"
            raise self.error(rule, message, state)
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None):
            raise self.error("ws-send-one-payload", message, state)
        if text is not None and not isinstance(text, str):
            raise self.error("ws-text-str", message, state)
        if data is not None and not isinstance(data, bytes | bytearray | memoryview):
            raise self.error("ws-bytes-bytes", message, state)

    def _close(self, message: Mapping[str, Any], state: WebSocketState) -> None:
        if state is _RESPONDING:
            raise self.error("ws-denial-in-handshake", message, state)
        code = message.get("code", 1000)
        if not isinstance(code, int) or isinstance(code, bool):
            raise self.error("ws-close-code-int", message, state)
        if code not in _SENDABLE_CODES:
            self.broken("ws-close-code-range", message, state)
        reason = message.get("reason")
        if reason is not None:
            if not isinstance(reason, str):
                self.broken("ws-close-reason-str", message, state)
            elif len(reason.encode("utf-8", "surrogatepass")) > 123:
                self.broken("ws-close-reason-length", message, state)
        self.state = _CLOSED

    def _denial_start(self, message: Mapping[str, Any], state: WebSocketState) -> None:
        if state is not _CONNECTING:
            raise self.error("ws-denial-in-handshake", message, state)
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise self.error("ws-denial-status-int", message, state)
        self.check_headers(message, state)
        self.state = _RESPONDING

    def _denial_body(self, message: Mapping[str, Any], state: WebSocketState) -> None:
        if state is not _RESPONDING:
            raise self.error("ws-denial-start-first", message, state)
        if not isinstance(message.get("body", b""), bytes | bytearray | memoryview):
            raise self.error("ws-denial-body-bytes", message, state)
        more = message.get("more_body", False)
        if not isinstance(more, bool):
            self.broken("ws-denial-more-body-bool", message, state)
        if not more:
            self.state = _CLOSED


_HANDLERS = {
    "websocket.accept": WebSocketProtocol._accept,
    "websocket.send": WebSocketProtocol._send,
    "websocket.close": WebSocketProtocol._close,
    "websocket.http.response.start": WebSocketProtocol._denial_start,
    "websocket.http.response.body": WebSocketProtocol._denial_body,
}
