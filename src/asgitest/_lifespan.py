"""The lifespan of an app: startup when a client is entered, shutdown when it is left.

The lifespan runs as an app task. An app that raises before it first awaits
``receive()`` does not support lifespan (the ASGI spec tells servers to go on
without it), and the client works without it. Any other failure, a
``lifespan.startup.failed``, or an exception once the app has started its
startup, is raised with the app's own traceback.
"""

from __future__ import annotations

from ._backend import checkpoint
from ._config import ClientConfig
from ._connection import APP_DONE, Connection
from ._errors import LifespanFailed
from ._protocol import LifespanProtocol, LifespanState
from ._queue import MessageQueue
from ._registry import Registry
from ._runner import spawn
from ._types import Message

__all__ = ["Lifespan"]


class Lifespan(Connection):
    """Drives one app's lifespan scope."""

    protocol: LifespanProtocol

    def __init__(self, config: ClientConfig, registry: Registry) -> None:
        where = f"lifespan of {config.label}"
        super().__init__(
            where, config, registry, LifespanProtocol(where, strict=config.strict, transcript=config.transcript(where))
        )
        self.to_app: MessageQueue[Message] = MessageQueue()
        self.to_test: MessageQueue[Message] = MessageQueue()
        self.receive_called = False
        self.supported = True

    async def _receive(self) -> Message:
        self.receive_called = True
        return await self.to_app.get(None)  # the protocol records what the server sends

    async def _send(self, message: Message) -> None:
        self.checked(message)
        self.to_test.put(message)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.config.app_state
        await self.config.app(scope, self._receive, self._send)

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer."""
        self.task = spawn(self.where, self._run, lambda: self.to_test.put(APP_DONE), owner=self.registry.adopt)
        self.protocol.server_sends("lifespan.startup")
        self.to_app.put({"type": "lifespan.startup"})
        await checkpoint()  # the app's first step comes first: its answer is then queued
        answer = await self._answer("startup")
        if answer is None:
            self.supported = False

    def abandon(self) -> None:
        """Cancel the app's lifespan task after a startup that did not complete (it may still
        be waiting for its startup, or for a shutdown that will never come)."""
        if self.task is not None:
            self.task.cancel()

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app's answer and its return."""
        if not self.supported or self.task is None or self.protocol.state is not LifespanState.STARTED:
            return
        self.protocol.server_sends("lifespan.shutdown")
        self.to_app.put({"type": "lifespan.shutdown"})
        await checkpoint()
        await self._answer("shutdown")
        if not await self.task.wait(self.config.timeout):
            activity = self.activity()
            await self.task.finish(0)
            text = (
                f"{self.where}: the app answered lifespan.shutdown.complete but did not return "
                f"within {self.config.timeout}s"
            )
            raise self.timed_out(text, activity, "it was cancelled")

    async def _answer(self, phase: str) -> Message | None:
        assert self.task is not None
        try:
            message = await self.to_test.get(self.config.timeout)
        except TimeoutError:
            activity = self.activity()
            await self.task.finish(0)
            if self.violation is not None and self.receive_called:  # swallowed, then no answer
                raise self.violation from None
            text = f"{self.where}: the app did not answer lifespan.{phase} within {self.config.timeout}s"
            raise self.timed_out(text, activity, "it was cancelled") from None
        if message is APP_DONE and phase == "startup" and not self.receive_called:
            return None  # no lifespan support (whatever it sent): go on without it
        if self.violation is not None:  # the app broke a rule and swallowed the error
            raise self.violation
        if message is APP_DONE:
            error = self.task.exception
            if error is not None:
                raise error
            failure = self.protocol.app_returned()
            assert failure is not None  # the answer to this phase is still owed
            raise failure
        if message["type"].endswith(".failed"):
            await self.task.wait(self.config.grace_period)
            if self.task.exception is not None:
                raise self.task.exception
            self.task.cancel()
            raise LifespanFailed(
                f"{self.where}: {phase} failed: {message.get('message') or '(no message)'}\n"
                f"{self.protocol.transcript.render()}"
            )
        return message
