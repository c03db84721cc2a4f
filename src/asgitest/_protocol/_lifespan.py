"""The lifespan scope, from the app's side: answer each startup and shutdown once (rules ``lifespan-*``).

An app that raises before it first awaits ``receive()`` does not support
lifespan; the server goes on without it. That decision is the I/O shell's.
"""

from __future__ import annotations

import enum
from typing import Any

from .._errors import ASGIProtocolError
from ._checks import Checker
from ._transcript import Transcript

__all__ = ["LifespanProtocol", "LifespanState"]


class LifespanState(enum.Enum):
    IDLE = "startup was not sent yet"
    STARTING = "waiting for the startup answer"
    STARTED = "the app had started"
    STOPPING = "waiting for the shutdown answer"
    DONE = "the app had shut down"


_ANSWERS = {
    LifespanState.STARTING: ("lifespan.startup.complete", "lifespan.startup.failed"),
    LifespanState.STOPPING: ("lifespan.shutdown.complete", "lifespan.shutdown.failed"),
}
_ALL_ANSWERS = frozenset(_ANSWERS[LifespanState.STARTING] + _ANSWERS[LifespanState.STOPPING])


class LifespanProtocol(Checker):
    """Tracks one lifespan; the I/O shell calls :meth:`server_sends` and :meth:`app_sends`."""

    __slots__ = ("state",)

    def __init__(self, where: str = "lifespan", *, strict: bool = True, transcript: Transcript | None = None) -> None:
        super().__init__(where, strict=strict, transcript=transcript)
        self.state = LifespanState.IDLE

    def server_sends(self, kind: str) -> None:
        """Record that the server sent ``lifespan.startup`` or ``lifespan.shutdown``."""
        if kind == "lifespan.startup" and self.state is LifespanState.IDLE:
            self.state = LifespanState.STARTING
        elif kind == "lifespan.shutdown" and self.state is LifespanState.STARTED:
            self.state = LifespanState.STOPPING
        else:  # pragma: no cover - the shell never does this
            raise AssertionError(f"cannot send {kind} in state {self.state}")
        self.transcript.app_received({"type": kind})

    def app_sends(self, message: Any) -> str:
        """Validate ``message`` in the current state, advance, and return its type."""
        self.transcript.app_sent(message)
        state = self.state
        kind = self.message_type(message, state)
        if kind not in _ALL_ANSWERS:
            raise self.error("lifespan-unknown-type", message, state)
        answers = _ANSWERS.get(state)
        if answers is None:
            raise self.error("lifespan-unasked", message, state)
        if kind not in answers:
            rule = "lifespan-answer-startup" if state is LifespanState.STARTING else "lifespan-answer-shutdown"
            raise self.error(rule, message, state)
        failure = message.get("message", "")
        if kind.endswith(".failed") and not isinstance(failure, str):
            raise self.error("lifespan-message-str", message, state)
        self.state = LifespanState.STARTED if state is LifespanState.STARTING else LifespanState.DONE
        return kind

    def app_returned(self) -> ASGIProtocolError | None:
        """The error for an app that returned now, if an answer is still owed."""
        if self.state in _ANSWERS:
            return self.error("lifespan-unanswered", None, self.state)
        return None
