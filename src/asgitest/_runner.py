"""Runs app coroutines on the owning event loop.

Each HTTP exchange, WebSocket session and lifespan runs as one *app task*. App
tasks are not children of a task group that the test enters and exits: they are
spawned on the running loop itself (an asyncio task, or a trio system task), each
inside its own cancel scope. So a client holds no cancel scope across a fixture's
``yield``, a response can outlive the call that started it (streaming,
WebSockets), and whatever the app spawns lives on the same loop.

An app task never lets an exception escape into the loop: it records it, and the
connection that owns the task re-raises it at the call that observes it.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ._errors import ASGITimeoutError

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["CANCEL_TIMEOUT", "AppTask", "spawn", "unwrap"]

#: Seconds a cancelled app task gets to unwind before asgitest gives up on it.
CANCEL_TIMEOUT = 5.0


class AppTask:
    """One app coroutine running on the loop, with its outcome.

    Attributes:
        name: what the task serves, for messages ("GET /items").
        exception: what the app raised, unwrapped from single-member groups; None while
            running or after a clean return.
        cancelled: whether asgitest cancelled the task after its grace period.
    """

    __slots__ = ("_done", "_on_finish", "_scope", "cancelled", "exception", "finished", "name")

    def __init__(self, name: str, on_finish: Callable[[], None] | None) -> None:
        self.name = name
        self._on_finish = on_finish
        self.exception: BaseException | None = None
        self.finished = False
        self.cancelled = False
        self._done: anyio.Event | None = None
        self._scope = anyio.CancelScope()

    async def _run(self, function: Callable[[], Awaitable[None]]) -> None:
        try:
            with self._scope:
                await function()
        except Exception as exc:
            self.exception = unwrap(exc)
        except BaseException as exc:
            # A KeyboardInterrupt, SystemExit or a foreign cancellation: record it
            # so the test sees it, and let the loop see it too.
            self.exception = exc
            raise
        finally:
            self.finished = True
            if self._on_finish is not None:
                self._on_finish()
            if self._done is not None:
                self._done.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the task finished; return False if ``timeout`` expired first."""
        if self.finished:
            return True
        if self._done is None:
            self._done = anyio.Event()
        with anyio.move_on_after(math.inf if timeout is None else timeout):
            await self._done.wait()
        return self.finished

    def cancel(self) -> None:
        """Cancel the app coroutine (it sees the backend's cancellation at its next await)."""
        if not self.finished:
            self.cancelled = True
            self._scope.cancel()

    async def finish(self, grace: float) -> bool:
        """Give the task ``grace`` seconds to return, then cancel it; True if it returned by itself.

        Raises:
            ASGITimeoutError: the app was still running :data:`CANCEL_TIMEOUT` seconds after
                it was cancelled (it swallows cancellation).
        """
        if await self.wait(grace):
            return not self.cancelled
        self.cancel()
        if not await self.wait(CANCEL_TIMEOUT):
            raise ASGITimeoutError(
                f"{self.name}: the app was cancelled after a {grace}s grace period but was still running "
                f"{CANCEL_TIMEOUT}s later; does it catch the cancellation and carry on?"
            )
        return False


def spawn(name: str, function: Callable[[], Awaitable[None]], on_finish: Callable[[], None] | None = None) -> AppTask:
    """Start ``function`` as an app task on the running loop; return at once.

    ``on_finish`` is called (on the loop, without awaiting) once the task has
    finished and its outcome is recorded. Must be called from a task of the loop
    that will run the app. The new task runs in a copy of the caller's context, as
    a task of a task group would.
    """
    task = AppTask(name, on_finish)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        context = contextvars.copy_context()
        trio.lowlevel.spawn_system_task(task._run, function, name=name, context=context)
    else:
        handle = loop.create_task(task._run(function), name=name)
        _running.add(handle)
        handle.add_done_callback(_running.discard)
    return task


# asyncio keeps only weak references to tasks; hold them until they finish.
_running: set[asyncio.Task[Any]] = set()


def unwrap(exc: BaseException) -> BaseException:
    """Return the single leaf of nested one-member exception groups, else ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
