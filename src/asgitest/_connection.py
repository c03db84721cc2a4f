"""What every connection shares: an HTTP exchange, a WebSocket, the lifespan.

Each runs one app as an app task, checks what the app sends against one state machine of
the protocol core, keeps the first rule the app broke (in case the app swallows the error
its send raised), and ends the same ways: a send refused once the client is gone, a wait
that runs out, a grace period before the app is cancelled, and, at the end, the one
failure the test should see. :class:`Connection` holds those; each kind adds its own
moves.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from ._config import ClientConfig
from ._errors import AppCancelledWarning, ASGIProtocolError, ASGITimeoutError, ClientDisconnected
from ._protocol import Transcript
from ._registry import Registry
from ._runner import AppTask
from ._types import Message

__all__ = ["APP_DONE", "Connection"]

#: Queued to the test's side once the app task has finished, whatever the outcome.
APP_DONE: Final[Message] = {"type": "asgitest.app_done"}


class StateMachine(Protocol):
    """What a connection asks of its state machine in the protocol core."""

    @property
    def transcript(self) -> Transcript: ...

    def app_sends(self, message: Any) -> str: ...

    def app_returned(self) -> ASGIProtocolError | None: ...


class Connection:
    """One connection's app task, state machine and first broken rule, and its ways to end."""

    def __init__(self, where: str, config: ClientConfig, registry: Registry, protocol: StateMachine) -> None:
        self.where = where
        self.config = config
        self.registry = registry
        self.protocol = protocol
        self.task: AppTask | None = None
        #: The first rule the app broke, kept in case the app swallows the error its send raised.
        self.violation: ASGIProtocolError | None = None

    @property
    def transcript(self) -> Transcript:
        return self.protocol.transcript

    def checked(self, message: Any) -> str:
        """Check ``message``, which the app sends, and return its type; raise (and keep) the
        rule it breaks."""
        try:
            return self.protocol.app_sends(message)
        except ASGIProtocolError as exc:
            self.violation = self.violation or exc
            raise

    def refused(self, message: Any, error: str) -> ClientDisconnected:
        """The error a send after the client left raises in the app: ``error``, then the events."""
        self.transcript.app_sent(message)
        self.transcript.note("that send raised ClientDisconnected in the app")
        return ClientDisconnected(f"{error}\n{self.transcript.render()}")

    def activity(self) -> str:
        """What the app is doing now, for messages ("the app is awaiting X at file:line")."""
        return self.task.activity() if self.task is not None else "the app had not started"

    def timed_out(self, text: str, activity: str, outcome: str | None = None) -> ASGITimeoutError:
        """The error of a wait that ran out: ``text``, what the app was doing then (``activity``)
        and what became of it (``outcome``), then the events."""
        ending = f"; {outcome}" if outcome else ""
        return ASGITimeoutError(f"{text}; {activity}{ending}.\n{self.transcript.render()}")

    def app_failure(self) -> BaseException | None:
        """What the test should see of an app that returned: the first rule it broke, what it
        raised, or the rule that returning now breaks; None if all is well or not to be raised."""
        if not self.config.raise_server_exceptions:
            return None
        error = self.task.exception if self.task is not None else None
        return self.violation or error or self.protocol.app_returned()

    async def end_app(self, grace: float, cancelled: str | None = None) -> bool:
        """Give the app ``grace`` seconds to return, then cancel it; True if it returned by
        itself. ``cancelled``: the warning (a finding without strict) if it had to be."""
        assert self.task is not None
        if await self.task.finish(grace):
            return True
        if cancelled is not None:
            self.registry.notice(AppCancelledWarning, cancelled)
        return False
