"""The lifespan scope, from the app's side.

Rules (ASGI lifespan scope, in short):

1. After ``lifespan.startup`` the app answers ``lifespan.startup.complete`` or
   ``lifespan.startup.failed`` (with an optional ``message`` str).
2. After ``lifespan.shutdown`` it answers ``lifespan.shutdown.complete`` or
   ``lifespan.shutdown.failed``.
3. An app that raises before it first awaits ``receive()`` does not support
   lifespan; the server goes on without it. That decision is the I/O shell's.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from ._checks import message_type, reject

__all__ = ["LifespanProtocol", "LifespanState"]


class LifespanState(enum.Enum):
    IDLE = "startup not sent yet"
    STARTING = "waiting for the startup answer"
    STARTED = "started"
    STOPPING = "waiting for the shutdown answer"
    DONE = "shut down"


_ANSWERS = {
    LifespanState.STARTING: ("lifespan.startup.complete", "lifespan.startup.failed"),
    LifespanState.STOPPING: ("lifespan.shutdown.complete", "lifespan.shutdown.failed"),
}


class LifespanProtocol:
    """Tracks one lifespan; the I/O shell calls :meth:`server_sends` and :meth:`app_sends`."""

    __slots__ = ("state", "where")

    def __init__(self, where: str = "lifespan") -> None:
        self.where = where
        self.state = LifespanState.IDLE

    def server_sends(self, kind: str) -> None:
        """Record that the server sent ``lifespan.startup`` or ``lifespan.shutdown``."""
        if kind == "lifespan.startup" and self.state is LifespanState.IDLE:
            self.state = LifespanState.STARTING
        elif kind == "lifespan.shutdown" and self.state is LifespanState.STARTED:
            self.state = LifespanState.STOPPING
        else:  # pragma: no cover - the shell never does this
            raise AssertionError(f"cannot send {kind} in state {self.state}")

    def app_sends(self, message: Mapping[str, Any]) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state = self.state
        kind = message_type(self.where, message, state.value)
        answers = _ANSWERS.get(state, ())
        if kind not in answers:
            expected = " or ".join(repr(a) for a in answers) or "nothing"
            raise reject(self.where, f"expected {expected}, not {kind!r}", message, state.value)
        failure = message.get("message", "")
        if kind.endswith(".failed") and not isinstance(failure, str):
            raise reject(self.where, "'message' must be a str", message, state.value)
        self.state = LifespanState.STARTED if state is LifespanState.STARTING else LifespanState.DONE
        return kind
