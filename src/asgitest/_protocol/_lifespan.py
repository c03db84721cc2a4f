"""The lifespan scope: both sides' moves (rules ``lifespan-*``), as tables.

Rules of this module:

1. The server's moves (``lifespan.startup``, ``lifespan.shutdown``) are :data:`SERVER_MOVES`;
   the app's answers are :data:`MOVES`: (state, answer) -> the next state.
2. An answer out of place breaks the rule :data:`REFUSED` names for its state (the answer
   of the other phase, or one nobody asked for); a type that is no answer at all breaks
   ``lifespan-unknown-type``.
3. An app that raises before it first awaits ``receive()`` does not support lifespan; the
   server goes on without it. That decision is the I/O shell's.
"""

from __future__ import annotations

import enum
from typing import Any

from ._checks import Checker
from ._errors import ASGIProtocolError
from ._transcript import Transcript

__all__ = ["MOVES", "REFUSED", "SERVER_MOVES", "LifespanProtocol", "LifespanState"]


class LifespanState(enum.Enum):
    """Where the lifespan is, between the server's two questions (startup, shutdown) and the
    app's answers; each value says it as an error message does."""

    IDLE = "startup was not sent yet"
    STARTING = "waiting for the startup answer"
    STARTED = "the app had started"
    STOPPING = "waiting for the shutdown answer"
    DONE = "the app had shut down"


_IDLE, _STARTING, _STARTED, _STOPPING, _DONE = LifespanState
_ANSWERS = (
    "lifespan.startup.complete",
    "lifespan.startup.failed",
    "lifespan.shutdown.complete",
    "lifespan.shutdown.failed",
)

#: The server's moves: (state, what it sends) -> the next state.
SERVER_MOVES: dict[tuple[LifespanState, str], LifespanState] = {
    (_IDLE, "lifespan.startup"): _STARTING,
    (_STARTED, "lifespan.shutdown"): _STOPPING,
}

#: The app's moves: (state, its answer) -> the next state.
MOVES: dict[tuple[LifespanState, str], LifespanState] = {
    (_STARTING, "lifespan.startup.complete"): _STARTED,
    (_STARTING, "lifespan.startup.failed"): _STARTED,
    (_STOPPING, "lifespan.shutdown.complete"): _DONE,
    (_STOPPING, "lifespan.shutdown.failed"): _DONE,
}

#: What an answer out of place breaks, by state.
REFUSED: dict[LifespanState, str] = {
    _STARTING: "lifespan-answer-startup",
    _STOPPING: "lifespan-answer-shutdown",
    _IDLE: "lifespan-unasked",
    _STARTED: "lifespan-unasked",
    _DONE: "lifespan-unasked",
}


class LifespanProtocol(Checker):
    """Tracks one lifespan; the I/O shell calls :meth:`server_sends` and :meth:`app_sends`."""

    __slots__ = ("state",)

    def __init__(self, where: str = "lifespan", *, strict: bool = True, transcript: Transcript | None = None) -> None:
        super().__init__(where, strict=strict, transcript=transcript)
        self.state = LifespanState.IDLE

    def server_sends(self, kind: str) -> None:
        """Record that the server sent ``lifespan.startup`` or ``lifespan.shutdown``."""
        state = SERVER_MOVES.get((self.state, kind))
        if state is None:  # pragma: no cover - the shell never does this
            raise AssertionError(f"cannot send {kind} in state {self.state}")
        self.state = state
        self.transcript.app_received({"type": kind})

    def app_sends(self, message: Any) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        state, kind, following = self.lookup(message, MOVES)
        if following is None:
            raise self.error(REFUSED[state] if kind in _ANSWERS else "lifespan-unknown-type", message, state)
        failure = message.get("message", "")
        if kind.endswith(".failed") and not isinstance(failure, str):
            raise self.error("lifespan-message-str", message, state)
        self.state = following
        return kind

    def app_returned(self) -> ASGIProtocolError | None:
        """The error for an app that returned now, if an answer is still owed."""
        if self.state is _STARTING or self.state is _STOPPING:
            return self.error("lifespan-unanswered", None, self.state)
        return None
