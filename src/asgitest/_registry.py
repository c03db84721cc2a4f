"""What one client must account for: open connections, running app tasks, what to report.

A connection is anything with an app task that the client must end when it
closes (an HTTP exchange whose app is still running, a WebSocket session).
After a WebSocket closes, the registry keeps a weak reference to the object
whose ``receive``/``send`` the app was given. If the app still holds that object
once the client is closed (a module-level list of sockets, ``app.state``), the
registry reports it: that is the reference that makes a later test fail.

Two things happen on the loop but must reach the test on its own thread, at the
next call into the client: *notices* (warnings, emitted by :func:`emit`) and
*unobserved errors* (what an app raised after the test stopped reading its
response; :meth:`Registry.wait_idle` and the client's close re-raise them).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import sys
import types
import warnings
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from . import _report
from ._backend import is_task, wait_tasks
from ._config import ClientConfig
from ._errors import ASGITimeoutError, StaleConnectionWarning, UnclosedConnectionWarning
from ._protocol import Transcript
from ._runner import CANCEL_TIMEOUT

if TYPE_CHECKING:
    from ._runner import AppTask

__all__ = ["Connection", "Notice", "Registry", "emit"]

#: A warning to emit on the test's thread: its category and message.
Notice = tuple[type[Warning], str]


class Connection(Protocol):
    """What the registry needs of an open connection."""

    async def _abort(self, reason: str) -> None:
        """End the connection because the client is closing.

        Raises only if the app cannot be stopped (it swallows cancellation).
        """

    def _left_open(self) -> str | None:
        """What the test left open here ("WebSocket session to /ws"), or None if it is done with it."""


class Registry:
    """Tracks one client's open connections and the closed ones the app may still hold."""

    __slots__ = (
        "_closed",
        "_errors",
        "_generators",
        "_notices",
        "_numbers",
        "_open",
        "_tasks",
        "_tasks_started",
        "config",
    )

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._numbers = itertools.count(1)
        self._open: dict[Connection, None] = {}
        self._closed: list[tuple[weakref.ref[Any], str, Transcript]] = []
        self._tasks: dict[AppTask, None] = {}
        self._notices: list[Notice] = []
        self._errors: list[BaseException] = []
        self._tasks_started: weakref.WeakSet[Any] = weakref.WeakSet()  # asyncio tasks
        self._generators: weakref.WeakSet[types.AsyncGeneratorType[Any, Any]] = weakref.WeakSet()

    def number(self) -> int:
        """A fresh connection number, for messages."""
        return next(self._numbers)

    def opened(self, connection: Connection) -> None:
        self._open[connection] = None

    def ended(self, connection: Connection) -> None:
        self._open.pop(connection, None)

    def started(self, task: AppTask) -> None:
        """Count ``task`` among the app tasks :meth:`wait_idle` waits for."""
        self._tasks[task] = None

    def finished(self, task: AppTask) -> None:
        self._tasks.pop(task, None)

    def adopt(self, thing: object) -> None:
        """Answer for ``thing``, an asyncio task or an async generator that one of the client's
        apps started on the shared loop (see :data:`~asgitest._runner.task_owner`)."""
        if is_task(thing):
            self._tasks_started.add(thing)
        elif isinstance(thing, types.AsyncGeneratorType):
            self._generators.add(thing)

    async def end_adopted(self) -> None:
        """At the client's close, do what the end of a server's loop does to what the client's
        apps left there: cancel their tasks still running after the grace period, and finish
        their unfinished async generators. The loop is shared: nothing of one client runs on
        into the next, and no generator is left for the collector to warn about."""
        started, generators = list(self._tasks_started), list(self._generators)
        self._tasks_started, self._generators = weakref.WeakSet(), weakref.WeakSet()
        pending = await wait_tasks(started, self.config.grace_period)
        for task in pending:
            task.cancel()
        await wait_tasks(pending, CANCEL_TIMEOUT)
        for generator in generators:
            if generator.ag_frame is not None and not generator.ag_running:
                with contextlib.suppress(Exception):
                    await generator.aclose()

    def notice(self, category: type[Warning], message: str) -> None:
        """A diagnostic: with ``strict``, a warning queued for the test's thread (see
        :meth:`take_notices`); otherwise a finding for the report (see :mod:`._report`)."""
        if self.config.strict:
            self._notices.append((category, message))
        else:
            _report.record(category, message)

    def take_notices(self) -> list[Notice]:
        notices, self._notices = self._notices, []
        return notices

    def unobserved(self, error: BaseException) -> None:
        """Keep an app's exception that no read of the test will see, to re-raise it later."""
        self._errors.append(error)

    def raise_unobserved(self) -> None:
        """Re-raise the first exception kept by :meth:`unobserved` (and forget the rest)."""
        errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    async def wait_idle(self, timeout: float | None) -> None:
        """Wait until every HTTP app task of the client has finished, then re-raise the first
        exception one of them raised that the test has not seen.

        Raises:
            ASGITimeoutError: some are still running after ``timeout`` seconds (they keep running).
        """
        with anyio.move_on_after(math.inf if timeout is None else timeout):
            while self._tasks:
                await next(iter(self._tasks)).wait()
        if self._tasks:
            running = ", ".join(task.name for task in self._tasks)
            raise ASGITimeoutError(
                f"{self.config.label}: timed out after {timeout}s waiting for the app to be idle; "
                f"still running: {running}"
            )
        self.raise_unobserved()

    def watch(self, app_side: weakref.ref[Any], path: str, transcript: Transcript) -> None:
        """Remember a closed WebSocket's app-side object, to report it if the app keeps it."""
        if self.config.strict and app_side() is not None:
            self._closed.append((app_side, path, transcript))

    async def close_all(self) -> None:
        """Abort every connection still open, oldest first; then raise the first failure to stop."""
        failure: BaseException | None = None
        left_open: Counter[str] = Counter()
        while self._open:
            connection = next(iter(self._open))
            self._open.pop(connection)
            what = connection._left_open()
            if what is not None:
                left_open[what] += 1
            try:
                await connection._abort("its client was closed")
            except Exception as exc:
                failure = failure or exc
        for what, count in left_open.items():
            self.notice(
                UnclosedConnectionWarning,
                f"{what}: {count} left open by the test when {self.config.label} closed; the client "
                "closed it (the app got a disconnect). Close it in the test: use it with `with` / "
                "`async with`, or call close().",
            )
        if failure is not None:
            raise failure

    def stale(self) -> list[Notice]:
        """With ``strict``, warnings about closed WebSockets the app still references, one per
        path; forgets them. Without, none: a reference alone breaks nothing (an app may keep
        closed sockets for its own bookkeeping); a send on one is a finding where it happens."""
        if not self.config.strict or not any(ref() is not None for ref, _, _ in self._closed):
            self._closed.clear()
            return []
        gc.collect()  # only cycles are left to rule out; runs only when something may leak
        held = [(path, transcript) for ref, path, transcript in self._closed if _held(ref())]
        stale = Counter(path for path, _ in held)
        last = dict(held)
        self._closed.clear()
        return [
            (
                StaleConnectionWarning,
                f"{count} closed WebSocket connection(s) to {path} of {self.config.label} are still "
                "referenced by the app after the client closed. The app keeps closed connections "
                "(a list or set of sockets, app.state): the next send to them raises ClientDisconnected. "
                f"Remove a socket from the collection when it disconnects.\n{last[path].render()}",
            )
            for path, count in stale.items()
        ]


#: How far up :func:`_held` walks (levels of referrers), and how many objects it looks at,
#: before it takes an object for held.
_SEARCH_DEPTH = 16
_SEARCH_BUDGET = 5000


def _held(target: object) -> bool:
    """Whether ``target`` is still held by live code, not only by finished frames.

    A traceback kept after the app handled an exception (a log record that pytest's
    logging plugin keeps, for one) holds the app's finished frames, and their locals the
    closed connection: that is no leak of the app's. Walks the referrers up from
    ``target``, a level at a time (one scan of the heap per level): a path through a
    finished frame or a traceback is dropped; any other path that ends (at a coroutine
    or generator, or the frame of one, at a module, or at an object only the stack holds)
    means held, as does running out of depth or budget. Stopping at modules matters
    beyond speed: on Python 3.12.1, a scan that had walked up to the ``_asyncio``
    module never returned.
    """
    if target is None:
        return False
    seen = {id(target)}
    level: list[object] = [target]
    ours = {id(seen), id(level), id(sys._getframe())}
    for _ in range(_SEARCH_DEPTH):
        # The call's own argument tuple refers to the whole level, and on Python 3.13 it is
        # among the referrers: a walk through it would only ever find the next call's.
        arguments = tuple(level)
        ours.add(id(arguments))
        referrers = gc.get_referrers(*arguments)
        ours.add(id(referrers))
        found = [referrer for referrer in referrers if id(referrer) not in ours]
        del arguments
        ours.add(id(found))
        del referrers
        wanted = {id(node) for node in level}
        for referrer in found:
            wanted.difference_update(id(referent) for referent in gc.get_referents(referrer))
        if wanted:
            return True  # held from the stack, where the collector does not look
        if any(isinstance(referrer, _ROOTS) for referrer in found):
            # A coroutine or generator (on Python 3.12+ its locals are its own, with
            # no frame object between) or a module's globals: live code holds it.
            return True
        frames = [referrer for referrer in found if isinstance(referrer, types.FrameType)]
        if frames and any(isinstance(owner, _SUSPENDABLE) for owner in gc.get_referrers(*frames)):
            return True  # a suspended coroutine's frame: live code holds it
        level = [
            referrer
            for referrer in found
            if id(referrer) not in seen and not isinstance(referrer, types.FrameType | types.TracebackType)
        ]
        ours.add(id(level))
        seen.update(id(node) for node in level)
        del found, frames
        if not level:
            return False  # every path ended in a finished frame
        if len(seen) > _SEARCH_BUDGET:
            return True
    return True


_SUSPENDABLE = (types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)
_ROOTS = (*_SUSPENDABLE, types.ModuleType)


def emit(notices: list[Notice], stacklevel: int) -> None:
    """Emit each notice as a warning on the calling thread, attributed to the caller's caller."""
    for category, message in notices:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
