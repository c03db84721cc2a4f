"""Everything that differs between asyncio and trio, in one place.

The rest of the package asks this module, never ``asyncio`` or ``trio`` directly, when what
it does depends on the event loop:

- which loop runs: :func:`running_loop` and :func:`current_loop`; what time it is there
  (:func:`now`: the loop's clock, which a virtual clock moves, see :mod:`._virtual_clock`);
- how a task waits until woken, with a bound (:func:`new_waiter`, :func:`wake`,
  :func:`wait_woken`), lets the others run (:func:`checkpoint`), and sees cancellation
  (:func:`cancelled_exc_class`);
- how a task starts from a plain callback (:func:`start_task`, :func:`spawner`), how another
  thread schedules a callback (:func:`soon_scheduler`), and how a call started that way is
  cancelled (:func:`run_cancellable`);
- asyncio's hooks that hand each task an app starts to its owner (:func:`hand_tasks_to`), and
  the waits on such tasks (:func:`is_task`, :func:`wait_tasks`).

Rules: trio is imported only when it runs. The one private API asgitest relies on is here,
:data:`running_loop` (``asyncio._get_running_loop``): a C call of tens of nanoseconds that
tells asyncio from trio (None under trio), where sniffio's lookup costs a microsecond, paid
several times per request. ``tests/test_backend.py`` guards it on every supported Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, cast

__all__ = [
    "cancelled_exc_class",
    "checkpoint",
    "current_loop",
    "hand_tasks_to",
    "is_task",
    "new_waiter",
    "now",
    "run_cancellable",
    "running_loop",
    "soon_scheduler",
    "spawner",
    "start_task",
    "wait_tasks",
    "wait_woken",
    "wake",
]

#: The running asyncio loop, or None (no loop, or trio's): asyncio's own C-level lookup.
running_loop: Callable[[], asyncio.AbstractEventLoop | None] = asyncio._get_running_loop

#: A task's wake-up: an asyncio future or a ``trio.Event`` (see :func:`new_waiter`).
Waiter = Any


def current_loop() -> object:
    """The running event loop, as an identity to compare: asyncio's loop, or trio's run token."""
    loop = running_loop()
    if loop is not None:
        return loop
    import trio

    return trio.lowlevel.current_trio_token()


def now() -> float:
    """Seconds on the running loop's clock, the one its timers follow: asyncio's
    ``loop.time()``, or trio's clock when it is a test clock. Under trio's own clock, whose
    zero is random, the monotonic clock (both count real seconds), so that a time taken here
    compares with one another thread takes."""
    loop = running_loop()
    if loop is not None:
        return loop.time()
    import trio

    clock = trio.lowlevel.current_clock()
    return time.monotonic() if type(clock).__name__ == "SystemClock" else clock.current_time()


def cancelled_exc_class() -> type[BaseException]:
    """The running backend's cancellation exception."""
    if running_loop() is not None:
        return asyncio.CancelledError
    import trio

    return trio.Cancelled


async def checkpoint() -> None:
    """Let the loop run other tasks once (and see a pending cancellation)."""
    if running_loop() is not None:
        await asyncio.sleep(0)
    else:
        import trio

        await trio.lowlevel.checkpoint()


def new_waiter() -> Waiter:
    """A one-shot wake-up for the running task: :func:`wake` it from the loop's thread, and
    :func:`wait_woken` for it. On asyncio a bare future, on trio an event."""
    loop = running_loop()
    if loop is not None:
        return loop.create_future()
    import trio

    return trio.Event()


def wake(waiter: Waiter) -> None:
    """Wake ``waiter``; idempotent. Call from the loop's thread."""
    if isinstance(waiter, asyncio.Future):
        if not waiter.done():
            waiter.set_result(None)
    else:
        waiter.set()


async def wait_woken(waiter: Waiter, timeout: float | None) -> None:
    """Wait until ``waiter`` is woken or ``timeout`` seconds (None: no bound) have passed.

    On asyncio one timer handle at most; a cancellation of the waiting task propagates.
    """
    if isinstance(waiter, asyncio.Future):
        if timeout is None or timeout == math.inf:
            await waiter
            return
        timer = waiter.get_loop().call_later(max(timeout, 0.0), _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
        return
    import trio

    with trio.move_on_after(math.inf if timeout is None else max(timeout, 0.0)):
        await waiter.wait()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def start_task(name: str, function: Callable[..., Awaitable[None]], *args: Any) -> None:
    """Start ``function(*args)`` as a task of the running loop, in a copy of the caller's
    context (as a task group does), and return at once. On trio it is a system task: it may
    outlive the caller's nursery, as an app's task outlives the request that started it."""
    loop = running_loop()
    if loop is None:
        import trio

        context = contextvars.copy_context()
        trio.lowlevel.spawn_system_task(function, *args, name=name, context=context)
        return
    task = loop.create_task(cast("Any", function(*args)), name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)


# asyncio keeps only weak references to tasks; hold them until they finish.
_running: set[asyncio.Task[Any]] = set()


@contextlib.asynccontextmanager
async def spawner(backend: str) -> AsyncIterator[Callable[[Callable[[], Awaitable[None]]], None]]:
    """A function that starts a task on the running loop from a plain callback there (where
    anyio cannot tell which loop runs); the block waits for the tasks it started."""
    if backend == "trio":
        import trio

        async with trio.open_nursery() as nursery:
            yield nursery.start_soon
        return
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def spawn(function: Callable[[], Awaitable[None]]) -> None:
        task: asyncio.Task[None] = loop.create_task(cast("Any", function()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        yield spawn
    finally:
        if tasks:
            await asyncio.wait(tasks)


def soon_scheduler(backend: str) -> Callable[..., object]:
    """The running loop's thread-safe "run this callback soon", which anyio does not expose.

    Both schedulers are FIFO queues that a blocking portal's calls go through too, so a
    callback scheduled here runs before a portal call made after it.
    """
    if backend == "trio":
        import trio

        run_sync_soon = trio.lowlevel.current_trio_token().run_sync_soon

        def soon(function: Callable[..., object], *args: Any) -> None:
            # trio runs the callback in its system context; asyncio's scheduler, like a task
            # group, runs it in a copy of the caller's. Give trio the same: the test's
            # context variables reach the app (and what it spawns) on both backends.
            run_sync_soon(contextvars.copy_context().run, function, *args)

        return soon
    return asyncio.get_running_loop().call_soon_threadsafe


async def run_cancellable(
    cancel: list[Callable[[], object]], function: Callable[..., Awaitable[Any]], *args: Any
) -> Any:
    """Await ``function(*args)``, first putting in ``cancel`` the callable that cancels it
    (from the loop's thread). A call cancelled that way returns None on trio (its cancel
    scope absorbs the cancellation) and raises the cancellation on asyncio."""
    if running_loop() is None:
        import trio

        with trio.CancelScope() as scope:
            cancel.append(scope.cancel)
            return await function(*args)
        return None
    cancel.append(cast("asyncio.Task[Any]", asyncio.current_task()).cancel)
    return await function(*args)


def hand_tasks_to(owner: contextvars.ContextVar[Callable[[object], None] | None]) -> None:
    """On the running asyncio loop, give each task started where ``owner`` is set to that
    owner (a no-op on trio, whose tasks cannot outlive the app's own nurseries)."""
    loop = running_loop()
    if loop is None:
        return
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Future[Any]:
        task = previous(loop, coro, **options) if previous is not None else asyncio.Task(coro, loop=loop, **options)
        given = owner.get()
        if given is not None and isinstance(task, asyncio.Task):
            given(task)
        return task

    loop.set_task_factory(factory)


def is_task(thing: object) -> bool:
    """Whether ``thing`` is a task :func:`hand_tasks_to` hands over."""
    return isinstance(thing, asyncio.Task)


async def wait_tasks(tasks: Iterable[Any], timeout: float) -> set[Any]:
    """Wait up to ``timeout`` seconds for the tasks :func:`hand_tasks_to` handed over to end;
    return those of the running loop still running."""
    loop = running_loop()  # only this loop's: a task another loop runs is not awaited here
    running = [task for task in tasks if not task.done() and task.get_loop() is loop]
    if not running:
        return set()
    pending: set[Any]
    _, pending = await asyncio.wait(running, timeout=timeout)
    return pending
