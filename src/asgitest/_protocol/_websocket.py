"""The websocket scope, from the app's side.

Rules (ASGI WebSocket connection scope, in short):

1. During the handshake the app either accepts (``websocket.accept``, with an
   optional ``subprotocol`` str and ``headers``), closes (``websocket.close``:
   the server answers 403), or denies with an HTTP response
   (``websocket.http.response.start`` then ``websocket.http.response.body``
   messages until ``more_body`` is false), which the server offers through the
   ``websocket.http.response`` extension.
2. Once accepted, the app sends ``websocket.send`` with exactly one of
   ``bytes`` or ``text``, and ends with ``websocket.close`` (a ``code``,
   an optional ``reason`` str).
3. Nothing may be sent after the close or after the denial response completed.
4. A send on a connection the client has closed raises an ``OSError``
   subclass in the app; that check lives in the I/O shell, which knows the
   client side.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from ._checks import check_headers, message_type, reject

__all__ = ["WebSocketProtocol", "WebSocketState"]


class WebSocketState(enum.Enum):
    CONNECTING = "handshake pending"
    RESPONDING = "sending a denial response"
    CONNECTED = "accepted"
    CLOSED = "closed by the app"


class WebSocketProtocol:
    """Tracks one WebSocket connection; :meth:`app_sends` validates each message the app sends."""

    __slots__ = ("state", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.state = WebSocketState.CONNECTING

    def app_sends(self, message: Mapping[str, Any]) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state = self.state
        kind = message_type(self.where, message, state.value)
        allowed = _ALLOWED.get(kind, ())
        if state not in allowed:
            raise reject(self.where, _misplaced(kind, state), message, state.value)
        problem = _FIELD_CHECKS[kind](message)
        if problem:
            raise reject(self.where, problem, message, state.value)
        if kind == "websocket.accept":
            check_headers(self.where, message, state.value)
            self.state = WebSocketState.CONNECTED
        elif kind == "websocket.close":
            self.state = WebSocketState.CLOSED
        elif kind == "websocket.http.response.start":
            check_headers(self.where, message, state.value)
            self.state = WebSocketState.RESPONDING
        elif kind == "websocket.http.response.body" and not message.get("more_body", False):
            self.state = WebSocketState.CLOSED
        return kind


_CONNECTING, _RESPONDING, _CONNECTED = (
    WebSocketState.CONNECTING,
    WebSocketState.RESPONDING,
    WebSocketState.CONNECTED,
)

#: The states in which the app may send each message type.
_ALLOWED: dict[str, tuple[WebSocketState, ...]] = {
    "websocket.accept": (_CONNECTING,),
    "websocket.send": (_CONNECTED,),
    "websocket.close": (_CONNECTING, _CONNECTED),
    "websocket.http.response.start": (_CONNECTING,),
    "websocket.http.response.body": (_RESPONDING,),
}


def _misplaced(kind: str, state: WebSocketState) -> str:
    if kind not in _ALLOWED:
        return f"unexpected message type {kind!r}"
    if state is WebSocketState.CLOSED:
        return f"{kind!r} sent after the connection was closed"
    if kind == "websocket.send" and state is _CONNECTING:
        return "'websocket.send' before 'websocket.accept'"
    if kind == "websocket.accept":
        return "'websocket.accept' sent twice"
    return f"{kind!r} is not allowed while {state.value}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_send(message: Mapping[str, Any]) -> str:
    text, data = message.get("text"), message.get("bytes")
    if (text is None) == (data is None):
        return "'websocket.send' needs exactly one of 'text' or 'bytes'"
    if text is not None and not isinstance(text, str):
        return "'text' must be a str"
    if data is not None and not isinstance(data, bytes | bytearray | memoryview):
        return "'bytes' must be bytes"
    return ""


def _check_accept(message: Mapping[str, Any]) -> str:
    subprotocol = message.get("subprotocol")
    if subprotocol is not None and not isinstance(subprotocol, str):
        return "'subprotocol' must be a str or None"
    return ""


def _check_close(message: Mapping[str, Any]) -> str:
    if not _is_int(message.get("code", 1000)):
        return "'code' must be an int"
    reason = message.get("reason")
    if reason is not None and not isinstance(reason, str):
        return "'reason' must be a str or None"
    return ""


def _check_start(message: Mapping[str, Any]) -> str:
    return "" if _is_int(message.get("status")) else "'status' must be an int"


def _check_body(message: Mapping[str, Any]) -> str:
    ok = isinstance(message.get("body", b""), bytes | bytearray | memoryview)
    return "" if ok else "'body' must be bytes"


_FIELD_CHECKS = {
    "websocket.accept": _check_accept,
    "websocket.send": _check_send,
    "websocket.close": _check_close,
    "websocket.http.response.start": _check_start,
    "websocket.http.response.body": _check_body,
}
