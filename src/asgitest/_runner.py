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

import contextvars
import gc
import os
import types
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ._backend import start_task
from ._errors import ASGITimeoutError
from ._wait import Flag

__all__ = ["CANCEL_TIMEOUT", "AppTask", "spawn", "task_owner"]

#: Seconds a cancelled app task gets to unwind before asgitest gives up on it.
CANCEL_TIMEOUT = 5.0

#: Who answers for the asyncio tasks and async generators an app starts: set in each app
#: task's own context, so every task the app creates inherits it; the shared loop hands each
#: new task and generator to it (the client's registry, which ends what is left when the
#: client closes).
task_owner: contextvars.ContextVar[Callable[[object], None] | None] = contextvars.ContextVar(
    "asgitest_task_owner", default=None
)


class AppTask:
    """One app coroutine running on the loop, with its outcome.

    Attributes:
        name: what the task serves, for messages ("GET /items").
        exception: what the app raised, as it raised it (an exception group the app's own
            task group made stays one: asgitest adds none); None while running or after a
            clean return.
        cancelled: whether asgitest cancelled the task after its grace period.
    """

    __slots__ = (
        "_coro",
        "_done",
        "_on_finish",
        "_owner",
        "_scope",
        "cancelled",
        "exception",
        "finished",
        "name",
        "resisted",
    )

    def __init__(
        self,
        name: str,
        on_finish: Callable[[], None] | None,
        owner: Callable[[object], None] | None = None,
    ) -> None:
        self.name = name
        self._on_finish = on_finish
        self._owner = owner
        self.exception: BaseException | None = None
        self.finished = False
        self.cancelled = False
        self.resisted = False  # still running CANCEL_TIMEOUT after it was cancelled
        self._done: Flag | None = None
        self._scope: anyio.CancelScope | None = None  # made in the task: anyio needs one to tell the loop
        self._coro: Awaitable[None] | None = None

    async def _run(self, function: Callable[[], Awaitable[None]]) -> None:
        if self._owner is not None:
            task_owner.set(self._owner)  # this task's own context: the app's tasks inherit it
        try:
            with anyio.CancelScope() as self._scope:
                if self.cancelled:  # before it started: the app never runs
                    self._scope.cancel()
                    return
                self._coro = function()
                await self._coro
        except Exception as exc:
            self.exception = exc
        except BaseException as exc:
            # A SystemExit or KeyboardInterrupt the app raised is its outcome, for the test to
            # see: the loop, shared by every client, must not die of it. A cancellation that
            # is not ours (the loop ending) goes on.
            self.exception = exc
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
        finally:
            self._coro = None
            self._scope = None
            self.finished = True
            # Dropped once called: the owner (an exchange) holds this task, and a callback
            # bound to it would make the pair a cycle that only the garbage collector frees.
            on_finish, self._on_finish = self._on_finish, None
            if on_finish is not None:
                on_finish()
            if self._done is not None:
                self._done.set()

    def activity(self) -> str:
        """What the app is doing now, for messages: "the app is awaiting X at file:line"."""
        if self.finished:
            if self.exception is not None:
                return f"the app had already raised {type(self.exception).__name__}"
            return "the app had already returned"
        return describe_await(self._coro)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the task finished; return False if ``timeout`` expired first."""
        if self.finished:
            return True
        if self._done is None:
            self._done = Flag()
        await self._done.wait(timeout)
        return self.finished

    def cancel(self) -> None:
        """Cancel the app coroutine (it sees the backend's cancellation at its next await)."""
        if not self.finished:
            self.cancelled = True
            if self._scope is not None:
                self._scope.cancel()

    async def finish(self, grace: float) -> bool:
        """Give the task ``grace`` seconds to return, then cancel it; True if it returned by itself.

        Raises:
            ASGITimeoutError: the app was still running :data:`CANCEL_TIMEOUT` seconds after
                it was cancelled (it swallows cancellation).
        """
        if await self.wait(grace):
            return not self.cancelled
        if self.resisted:  # reported once already: the limit is not paid twice
            return False
        self.cancel()
        if not await self.wait(CANCEL_TIMEOUT):
            self.resisted = True
            raise ASGITimeoutError(
                f"{self.name}: the app was cancelled after a {grace}s grace period but was still running "
                f"{CANCEL_TIMEOUT}s later; does it catch the cancellation and carry on?"
            )
        return False


def spawn(
    name: str,
    function: Callable[[], Awaitable[None]],
    on_finish: Callable[[], None] | None = None,
    *,
    owner: Callable[[object], None] | None = None,
) -> AppTask:
    """Start ``function`` as an app task on the running loop; return at once.

    ``on_finish`` is called (on the loop, without awaiting) once the task has
    finished and its outcome is recorded. ``owner`` is given each asyncio task the
    app starts (see :data:`task_owner`). Must be called from a task of the loop
    that will run the app. The new task runs in a copy of the caller's context, as
    a task of a task group would.
    """
    task = AppTask(name, on_finish, owner)
    start_task(name, task._run, function)
    return task


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))
_LOOP_PACKAGES = ("anyio", "asyncio", "trio", "sniffio", "exceptiongroup")


def _frames(awaitable: Any) -> list[types.FrameType]:
    """The frames of a suspended await chain, outermost first.

    The chain goes on through async generators (``async for``, ``anext()``, an
    ``@asynccontextmanager``'s ``async with``): what awaits one awaits the object its
    ``asend()`` or ``athrow()`` made, which names no generator; the generator is the one
    object that the collector sees it refer to.
    """
    frames = []
    while awaitable is not None:
        if type(awaitable).__name__ in _GENERATOR_STEPS:
            awaitable = next((r for r in gc.get_referents(awaitable) if isinstance(r, types.AsyncGeneratorType)), None)
            continue
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        frame = frame or getattr(awaitable, "ag_frame", None)
        if frame is None:
            break
        frames.append(frame)
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None)
        )
    return frames


#: The awaitables an async generator's ``asend()`` and ``athrow()`` return (``anext()``'s too).
_GENERATOR_STEPS = frozenset({"async_generator_asend", "async_generator_athrow"})


def _kind(frame: types.FrameType) -> str:
    """ "own" (asgitest), "loop" (the event loop and the standard library), "library" or "app"."""
    path = os.path.abspath(frame.f_code.co_filename)
    if path.startswith(_PACKAGE_DIR):
        return "own"
    parts = path.split(os.sep)
    if path.startswith(_STDLIB_DIR) and "site-packages" not in parts:
        return "loop"
    if "site-packages" in parts or "dist-packages" in parts:
        index = max(i for i, part in enumerate(parts) if part in {"site-packages", "dist-packages"})
        top = parts[index + 1] if index + 1 < len(parts) else ""
        return "loop" if top in _LOOP_PACKAGES or top.startswith(_LOOP_PACKAGES) else "library"
    return "app"


def _name(frame: types.FrameType) -> str:
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)


def describe_await(awaitable: Any) -> str:
    """Where a suspended coroutine waits: its innermost app frame (file:line) and what it awaits there.

    The innermost frame of the app's own code is preferred to a framework's; the
    awaited callable is the next frame in. A wait inside asgitest's ``receive`` or
    ``send`` is named as such.
    """
    frames = _frames(awaitable)
    if not frames:
        return "the app had not started yet"
    kinds = [_kind(frame) for frame in frames]
    chosen = next((i for i in reversed(range(len(frames))) if kinds[i] == "app"), None)
    if chosen is None:
        chosen = next((i for i in reversed(range(len(frames))) if kinds[i] == "library"), None)
    if chosen is None:
        return "the app is suspended inside asgitest or the event loop"
    frame = frames[chosen]
    where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
    callee = f"{_name(frames[chosen + 1])}()" if chosen + 1 < len(frames) else "something"
    inner = {_name(f) for f, kind in zip(frames[chosen + 1 :], kinds[chosen + 1 :], strict=True) if kind == "own"}
    waits_in = next((name for name in ("receive", "send") if any(n.endswith("." + name) for n in inner)), None)
    text = f"the app is awaiting {callee} at {where} (in {_name(frame)})"
    if waits_in and not callee.endswith(f".{waits_in}()"):
        text += f", which waits in {waits_in}()"
    return text
