"""The http scope: which message the app may send when (rules ``http-*``), as a table.

Rules of this module:

1. Every move of the app's side of an exchange is a row of :data:`MOVES`, keyed by the
   state and the type of the message; the row's method checks the message's fields and
   sets the next state (a body's ``more_body`` decides whether the body goes on).
2. A message out of place is a row of :data:`REFUSED`: the rule it breaks and, where
   Starlette's TestClient asserts the same, Starlette's own words. A type that no row
   names breaks ``http-unknown-type``; trailers nobody announced break
   ``http-trailers-announced`` in any state.
3. The test's side has one move, :meth:`HTTPProtocol.client_disconnects`: from then on
   the app's sends are refused (:attr:`HTTPProtocol.refusing`; the shell raises
   ``ClientDisconnected`` in the app, as a server raises an ``OSError``).
4. An extension's message is checked only where the scope offered the extension
   (``offered``); elsewhere it breaks ``http-extension-offered`` (a push, the relaxed
   ``http-push-offered``: it is dropped). A body sent as a file (``pathsend``,
   ``zerocopysend``) is a move whose bytes the shell reads, then counts with
   :meth:`HTTPProtocol.file_sent`, as a body message's are counted.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._checks import Checker
from ._errors import ASGIProtocolError
from ._transcript import Transcript

__all__ = ["DEFAULT_OFFERED", "MOVES", "REFUSED", "HTTPProtocol", "HTTPState"]


class HTTPState(enum.Enum):
    """Where the app's side of an exchange is; each value says it as an error message does."""

    START = "waiting for http.response.start"
    BODY = "sending the body"
    TRAILERS = "sending trailers"
    DONE = "the response was complete"


START, BODY, TRAILERS, DONE = HTTPState
_NO_BODY_STATUSES = frozenset({204, 304})
#: What a scope offers unless told otherwise (the client's defaults).
DEFAULT_OFFERED = frozenset({"http.response.debug", "http.response.trailers"})


class HTTPProtocol(Checker):
    """Tracks one HTTP exchange; :meth:`app_sends` validates each message the app sends.

    ``head`` says the request was a HEAD: its response declares a length but has no body.
    """

    __slots__ = (
        "_bodied",
        "_debugged",
        "_declared",
        "_sent",
        "disconnect_reason",
        "disconnected_at",
        "head",
        "offered",
        "state",
        "status",
        "trailers",
    )

    def __init__(
        self,
        where: str,
        *,
        strict: bool = True,
        transcript: Transcript | None = None,
        head: bool = False,
        offered: frozenset[str] = DEFAULT_OFFERED,
    ) -> None:
        super().__init__(where, strict=strict, transcript=transcript)
        self.state = HTTPState.START
        self.head = head
        self.offered = offered  # the extensions the scope offered
        self._bodied = False  # a body message was sent (a pathsend cannot follow)
        self.status = 0
        self.trailers = False
        self._declared: int | None = None  # the content-length the start declared
        self._sent = 0
        self._debugged = False
        #: When the client went away (on the transcript's clock), and why; None while it is there.
        self.disconnected_at: float | None = None
        self.disconnect_reason = ""

    def app_received(self, message: Mapping[str, Any]) -> None:
        """Record a message the app received (for the transcript)."""
        self.transcript.app_received(message)

    def client_disconnects(self, reason: str) -> bool:
        """The test's move: the client goes away (it left the response, timed out, or its
        request body's producer failed). False if it was gone already."""
        if self.disconnected_at is not None:
            return False
        self.disconnected_at = self.transcript.clock()
        self.disconnect_reason = reason
        self.transcript.note(f"the client disconnected: {reason}")
        return True

    @property
    def refusing(self) -> bool:
        """Whether the app's sends are refused: the client has gone."""
        return self.disconnected_at is not None

    def app_sends(self, message: Any) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state, kind, move = self.lookup(message, MOVES)
        if kind in _EXTENSION_TYPES and kind not in self.offered:
            if kind == "http.response.push":
                self.broken("http-push-offered", message, state)
                return _IGNORED
            raise self.error("http-extension-offered", message, state, f"The scope offered {sorted(self.offered)}.")
        if move is not None:
            return move(self, message) or kind
        refused = REFUSED.get((state, kind))
        if refused is None:
            raise self.error("http-unknown-type", message, state)
        if kind == "http.response.trailers" and not self.trailers:
            refused = _UNANNOUNCED
        rule, words = refused
        raise self.error(rule, message, state, words)

    def _debug(self, message: Mapping[str, Any]) -> None:
        state = self.state
        if not isinstance(message.get("info"), Mapping):
            raise self.error("http-debug-info-dict", message, state)
        if state is not START or self._debugged:
            self.broken("http-debug-before-start", message, state, "It was sent twice." if self._debugged else "")
        self._debugged = True

    def _push(self, message: Mapping[str, Any]) -> None:
        state = self.state
        if not isinstance(message.get("path"), str):
            raise self.error("http-push-path", message, state)
        self.check_headers(message, state)

    def _early_hint(self, message: Mapping[str, Any]) -> None:
        links = message.get("links")
        if isinstance(links, str | bytes) or not isinstance(links, Iterable):
            raise self.error("http-early-hint-links", message, self.state)
        for link in links:
            if not isinstance(link, bytes | bytearray):
                raise self.error("http-early-hint-links", message, self.state, f"Got {link!r:.60}.")

    def _pathsend(self, message: Mapping[str, Any]) -> None:
        state = self.state
        path = message.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise self.error("http-pathsend-path", message, state, f"Got {path!r:.80}.")
        if self._bodied:
            raise self.error("http-pathsend-alone", message, state, "A body message came before it.")

    def _zerocopysend(self, message: Mapping[str, Any]) -> None:
        state = self.state
        file: Any = message.get("file")
        try:
            file.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation (BytesIO) is both of the last
            raise self.error("http-zerocopysend-file", message, state, f"Got {file!r:.60}.") from None
        for key in ("offset", "count"):
            value = message.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise self.error("http-zerocopysend-range", message, state, f"Its {key!r} is {value!r:.40}.")
        if not isinstance(message.get("more_body", False), bool):
            self.broken("http-more-body-bool", message, state)

    def file_sent(self, message: Mapping[str, Any], size: int) -> None:
        """Count the ``size`` bytes the shell read for ``message`` (a pathsend or zerocopysend
        the state machine took), as a body message's are counted."""
        more = message["type"] == "http.response.zerocopysend" and message.get("more_body", False) is True
        self._count(message, size, more)

    def _trailers(self, message: Mapping[str, Any]) -> None:
        state = self.state
        self.check_headers(message, state)
        more = message.get("more_trailers", False)
        if not isinstance(more, bool):
            self.broken("http-more-trailers-bool", message, state)
        if not more:
            self.state = DONE

    def _start(self, message: Mapping[str, Any]) -> None:
        state = self.state
        status = self.status_of(message, state, "http-status-int")
        if not 200 <= status <= 599:
            self.broken("http-status-range", message, state)
        self.check_headers(message, state)
        trailers = message.get("trailers", False)
        if not isinstance(trailers, bool):
            self.broken("http-trailers-bool", message, state)
        for name, value in message.get("headers", ()):
            if name.lower() == b"content-length":
                try:
                    self._declared = int(value)
                except ValueError:
                    self.broken("http-content-length", message, state, f"It declared {bytes(value)!r:.40}.")
        self.status = status
        self.trailers = bool(trailers)
        self.state = BODY

    def _body(self, message: Mapping[str, Any]) -> None:
        state = self.state
        body = message.get("body", b"")
        if not isinstance(body, bytes | bytearray | memoryview):
            raise self.error("http-body-bytes", message, state)
        more = message.get("more_body", False)
        if not isinstance(more, bool):
            self.broken("http-more-body-bool", message, state)
        self._count(message, len(body), more)

    def _count(self, message: Mapping[str, Any], size: int, more: Any) -> None:
        """Count ``size`` bytes of body against the declared length; end the body unless ``more``."""
        state = self.state
        self._bodied = True
        if size and not self.head:
            if self.status in _NO_BODY_STATUSES:
                self.broken("http-no-body-status", message, state, f"The status is {self.status}.")
            self._sent += size
            if self._declared is not None and self._sent > self._declared:
                detail = f"It declared {self._declared} bytes and sent {self._sent}."
                self.broken("http-content-length", message, state, detail)
        if not more:
            if self._declared is not None and not self.head and self._sent < self._declared:
                detail = f"The body ended after {self._sent} of the {self._declared} bytes it declared."
                self.broken("http-content-length", message, state, detail)
            self.state = TRAILERS if self.trailers else DONE

    def app_returned(self) -> ASGIProtocolError | None:
        """The error for an app that returned now, if returning breaks a rule (and is not relaxed)."""
        if self.state is HTTPState.START:
            return self.error("http-response-started", None, self.state, _STARLETTE_SAYS + _NO_RESPONSE)
        if self.state is not HTTPState.DONE and self.strict:  # a relaxed rule: Starlette truncates
            return self.error("http-response-complete", None, self.state)
        return None


#: What :meth:`HTTPProtocol.app_sends` returns for a message that is dropped, not delivered.
_IGNORED = "ignored"

# Starlette's TestClient asserts some of these rules itself; its words are added to ours, so
# that a test expecting its AssertionError (ASGIProtocolError is one too) still matches.
_STARLETTE_SAYS = "Starlette's TestClient says: "
_NO_RESPONSE = "TestClient did not receive any response."
_MULTIPLE_STARTS = 'Received multiple "http.response.start" messages.'


def _said(how: str, what: str, state: HTTPState | None = None) -> str:
    """Starlette's words for a message out of place: 'Received "http.response.X" <how> <what>.'"""
    if how == "without":  # a body without a start, trailers without declaring them
        sent, missing = ("body", '"http.response.start"') if what == "start" else ("trailers", "declaring trailers")
        return f'{_STARLETTE_SAYS}Received "http.response.{sent}" without {missing}.'
    if how == "before":
        return f'{_STARLETTE_SAYS}Received "http.response.trailers" before body completed.'
    ended = "body" if state is HTTPState.TRAILERS and what == "http.response.body" else "response"
    return f'{_STARLETTE_SAYS}Received "{what}" after {ended} completed.'


_Move = Callable[[HTTPProtocol, Mapping[str, Any]], str | None]

#: The moves of the app's side: (state, message type) -> the method that checks the
#: message and sets the next state (returning what the shell is to do with it, if not the
#: message's type).
MOVES: dict[tuple[HTTPState, str], _Move] = {
    (START, "http.response.start"): HTTPProtocol._start,
    (BODY, "http.response.body"): HTTPProtocol._body,
    (TRAILERS, "http.response.trailers"): HTTPProtocol._trailers,
    **{(state, "http.response.debug"): HTTPProtocol._debug for state in (START, BODY, TRAILERS)},
    **{(state, "http.response.push"): HTTPProtocol._push for state in (BODY, TRAILERS)},
    (START, "http.response.early_hint"): HTTPProtocol._early_hint,
    (BODY, "http.response.pathsend"): HTTPProtocol._pathsend,
    (BODY, "http.response.zerocopysend"): HTTPProtocol._zerocopysend,
}

#: The messages of extensions: each only where the scope offered it (its type is its name).
_EXTENSION_TYPES = frozenset(
    {
        "http.response.debug",
        "http.response.trailers",
        "http.response.early_hint",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.push",
    }
)


#: What is refused: (state, message type) -> (the rule broken, Starlette's words for it).
REFUSED: dict[tuple[HTTPState, str], tuple[str, str]] = {
    (START, "http.response.body"): ("http-start-first", _said("without", "start")),
    (START, "http.response.trailers"): ("http-trailers-announced", _said("without", "trailers")),
    **{
        (state, "http.response.start"): ("http-start-once", _STARLETTE_SAYS + _MULTIPLE_STARTS)
        for state in (BODY, TRAILERS, DONE)
    },
    (BODY, "http.response.trailers"): ("http-trailers-after-body", _said("before", "trailers")),
    (TRAILERS, "http.response.body"): ("http-after-complete", _said("after", "http.response.body", TRAILERS)),
    (DONE, "http.response.body"): ("http-after-complete", _said("after", "http.response.body", DONE)),
    (DONE, "http.response.trailers"): ("http-after-complete", _said("after", "http.response.trailers", DONE)),
    (DONE, "http.response.debug"): ("http-after-complete", ""),
    **{(state, "http.response.early_hint"): ("http-early-hint-before-start", "") for state in (BODY, TRAILERS, DONE)},
    **{
        (START, kind): ("http-start-first", "")
        for kind in ("http.response.pathsend", "http.response.zerocopysend", "http.response.push")
    },
    **{
        (state, kind): ("http-after-complete", "")
        for state in (TRAILERS, DONE)
        for kind in ("http.response.pathsend", "http.response.zerocopysend")
    },
    (DONE, "http.response.push"): ("http-after-complete", ""),
}
#: Trailers that the response start did not announce, whatever the state.
_UNANNOUNCED = ("http-trailers-announced", _said("without", "trailers"))
