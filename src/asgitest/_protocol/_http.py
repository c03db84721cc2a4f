"""The http scope, from the app's side.

Rules (ASGI HTTP connection scope, in short):

1. The app answers with exactly one ``http.response.start`` (an int ``status``
   and optional ``headers``), then ``http.response.body`` messages; the body is
   complete at the first one whose ``more_body`` is false.
2. If the start message said ``trailers: true``, ``http.response.trailers``
   messages follow the body, until one whose ``more_trailers`` is false.
3. Nothing may be sent once the response is complete.
4. ``http.response.debug`` (a Starlette test extension carrying template and
   context) may come before the response completes and changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from ._checks import check_headers, message_type, reject

__all__ = ["HTTPProtocol", "HTTPState"]


class HTTPState(enum.Enum):
    START = "waiting for http.response.start"
    BODY = "sending the body"
    TRAILERS = "sending trailers"
    DONE = "response complete"


class HTTPProtocol:
    """Tracks one HTTP exchange; :meth:`app_sends` validates each message the app sends."""

    __slots__ = ("state", "trailers", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.state = HTTPState.START
        self.trailers = False

    def app_sends(self, message: Mapping[str, Any]) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state = self.state
        kind = message_type(self.where, message, state.value)
        if kind == "http.response.start" and state is HTTPState.START:
            status = message.get("status")
            if not isinstance(status, int) or isinstance(status, bool):
                raise reject(self.where, "'status' must be an int", message, state.value)
            check_headers(self.where, message, state.value)
            self.trailers = bool(message.get("trailers", False))
            self.state = HTTPState.BODY
        elif kind == "http.response.body" and state is HTTPState.BODY:
            body = message.get("body", b"")
            if not isinstance(body, bytes | bytearray | memoryview):
                raise reject(self.where, "'body' must be bytes", message, state.value)
            if not message.get("more_body", False):
                self.state = HTTPState.TRAILERS if self.trailers else HTTPState.DONE
        elif kind == "http.response.trailers" and state is HTTPState.TRAILERS:
            check_headers(self.where, message, state.value)
            if not message.get("more_trailers", False):
                self.state = HTTPState.DONE
        elif kind == "http.response.debug" and state is not HTTPState.DONE:
            pass
        elif state is HTTPState.DONE:
            raise reject(self.where, f"{kind!r} sent after the response was complete", message, state.value)
        elif kind == "http.response.body" and state is HTTPState.START:
            raise reject(self.where, "'http.response.body' before 'http.response.start'", message, state.value)
        elif kind == "http.response.start":
            raise reject(self.where, "a second 'http.response.start'", message, state.value)
        else:
            raise reject(self.where, f"unexpected message type {kind!r}", message, state.value)
        return kind
