"""The websocket scope: which message the app may send when (rules ``ws-*``), as a table.

Rules of this module:

1. Every move of the app's side is a row of :data:`MOVES`, keyed by the state and the type
   of the message; the row's method checks the message's fields and sets the next state.
2. A message out of place is a row of :data:`REFUSED`, naming the rule it breaks; a type
   that no row names breaks ``ws-unknown-type``.
3. The test's side has one move, :meth:`WebSocketProtocol.test_closes`. The app's sends
   are refused (:attr:`WebSocketProtocol.refusing`; the shell raises ``ClientDisconnected``
   in the app, as a server raises an ``OSError``) once it has taken that close from
   ``receive()``, or has returned: until then it is still at the messages the test sent
   before the close, as a server is at the frames before a close frame.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._checks import Checker
from ._transcript import Transcript

__all__ = ["MOVES", "REFUSED", "WebSocketProtocol", "WebSocketState"]


class WebSocketState(enum.Enum):
    """Where the app's side of a connection is: before its answer to the handshake, in the
    body of a denial (``websocket.http.response.*``), accepted, or closed by the app."""

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

    __slots__ = ("close_seen", "closed_at", "closed_by_test", "closed_how", "denials", "offered", "state")

    def __init__(
        self,
        where: str,
        *,
        strict: bool = True,
        transcript: Transcript | None = None,
        offered: Sequence[str] = (),
        denials: bool = True,
    ) -> None:
        super().__init__(where, strict=strict, transcript=transcript)
        self.state = _CONNECTING
        self.offered = tuple(offered)
        self.denials = denials  # whether the scope offered the denial response extension
        #: The ``websocket.disconnect`` the test's close delivers to the app, once it closed.
        self.closed_by_test: dict[str, Any] | None = None
        self.closed_at = 0.0
        self.closed_how = ""
        #: Whether the app took the test's close from ``receive()``, or returned.
        self.close_seen = False

    def app_received(self, message: Mapping[str, Any]) -> None:
        """Record a message the app received (for the transcript)."""
        if message["type"] == "websocket.disconnect":
            self.close_seen = True
        self.transcript.app_received(message)

    def test_closes(self, code: int, reason: str | None, how: str) -> dict[str, Any]:
        """The test's move: it closes the connection (``how`` says how, for messages).
        Returns the ``websocket.disconnect`` the app is to receive."""
        self.closed_by_test = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self.closed_at = self.transcript.clock()
        self.closed_how = how
        self.transcript.note(how)
        return dict(self.closed_by_test)

    def app_finished(self) -> None:
        """The app returned: nothing is on its way to it any more."""
        self.close_seen = True

    @property
    def refusing(self) -> bool:
        """Whether the app's sends are refused: the test closed, and the app knows it."""
        return self.closed_by_test is not None and self.close_seen

    def describe_close(self) -> str:
        """How and how long ago the test closed, for messages."""
        return f"{self.closed_how} {self.transcript.clock() - self.closed_at:.3f}s ago"

    def app_sends(self, message: Any) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state, kind, move = self.lookup(message, MOVES)
        if move is None:
            raise self.error(REFUSED.get((state, kind), "ws-unknown-type"), message, state)
        move(self, message)
        return kind

    def app_returned(self) -> None:
        """Returning breaks no rule: a server closes the connection (1006) or denies the
        handshake (403) for the app."""
        return None

    def _accept(self, message: Mapping[str, Any]) -> None:
        state = self.state
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

    def _send(self, message: Mapping[str, Any]) -> None:
        state = self.state
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None):
            raise self.error("ws-send-one-payload", message, state)
        if text is not None and not isinstance(text, str):
            raise self.error("ws-text-str", message, state)
        if data is not None and not isinstance(data, bytes | bytearray | memoryview):
            raise self.error("ws-bytes-bytes", message, state)

    def _close(self, message: Mapping[str, Any]) -> None:
        state = self.state
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

    def _denial_start(self, message: Mapping[str, Any]) -> None:
        state = self.state
        if not self.denials:
            raise self.error("ws-denial-offered", message, state)
        self.status_of(message, state, "ws-denial-status-int")
        self.check_headers(message, state)
        self.state = _RESPONDING

    def _denial_body(self, message: Mapping[str, Any]) -> None:
        state = self.state
        if not isinstance(message.get("body", b""), bytes | bytearray | memoryview):
            raise self.error("ws-denial-body-bytes", message, state)
        more = message.get("more_body", False)
        if not isinstance(more, bool):
            self.broken("ws-denial-more-body-bool", message, state)
        if not more:
            self.state = _CLOSED


_ACCEPT, _SEND, _CLOSE = "websocket.accept", "websocket.send", "websocket.close"
_DENY, _DENIAL_BODY = "websocket.http.response.start", "websocket.http.response.body"
_TYPES = (_ACCEPT, _SEND, _CLOSE, _DENY, _DENIAL_BODY)

#: The moves of the app's side: (state, message type) -> the method that checks the
#: message and sets the next state.
MOVES: dict[tuple[WebSocketState, str], Callable[[WebSocketProtocol, Mapping[str, Any]], None]] = {
    (_CONNECTING, _ACCEPT): WebSocketProtocol._accept,
    (_CONNECTING, _CLOSE): WebSocketProtocol._close,  # refusing the handshake
    (_CONNECTING, _DENY): WebSocketProtocol._denial_start,
    (_CONNECTED, _SEND): WebSocketProtocol._send,
    (_CONNECTED, _CLOSE): WebSocketProtocol._close,
    (_RESPONDING, _DENIAL_BODY): WebSocketProtocol._denial_body,
}

#: What is refused: (state, message type) -> the rule broken.
REFUSED: dict[tuple[WebSocketState, str], str] = {
    (_CONNECTING, _SEND): "ws-send-after-accept",
    (_CONNECTING, _DENIAL_BODY): "ws-denial-start-first",
    (_CONNECTED, _ACCEPT): "ws-accept-once",
    (_CONNECTED, _DENY): "ws-denial-in-handshake",
    (_CONNECTED, _DENIAL_BODY): "ws-denial-start-first",
    **{(_RESPONDING, kind): "ws-denial-in-handshake" for kind in (_ACCEPT, _SEND, _CLOSE, _DENY)},
    **{(_CLOSED, kind): "ws-after-close" for kind in _TYPES},
}
