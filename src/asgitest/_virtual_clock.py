"""Virtual time: an event loop whose clock moves only when the test lets it.

A loop with a virtual clock starts at 0 and never moves on its own. It jumps to its next
timer when nothing on it can run and (for a sync client's loop thread) a test thread is
waiting on it; :meth:`VirtualClock.advance` moves it by hand, running every timer due on
the way. Between the test's calls the clock stands still, so an app with a 30 s heartbeat
does not spin while the test does something else.

What is virtual is the loop's time: ``asyncio.sleep``, ``anyio.sleep``, ``loop.call_later``,
``anyio.fail_after``, trio's timeouts, and every bound and grace period of asgitest's own.
What is not: ``time.time()`` and ``time.monotonic()`` called directly, real sockets, and
worker threads. While a worker thread runs (``anyio.to_thread``, trio's, asyncio's
``run_in_executor``: a framework's sync endpoints) the clock does not jump, so that the
app's own timeouts do not fire under it.

asyncio: :class:`VirtualTimeLoop`, a selector event loop whose ``time()`` is the virtual
clock and whose selector decides, when the loop has nothing ready, whether to wait or to
jump. It reads the loop's timer heap (``_scheduled``, each handle's ``_when`` and
``_cancelled``), asyncio's own private attributes, which ``tests/test_virtual_time.py``
guards on every supported Python. trio: its ``MockClock`` at rate 0, whose public
``autojump_threshold`` an instrument switches between 0 (jump when idle) and infinity.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import selectors
import weakref
from collections.abc import Callable
from typing import Any

from ._backend import running_loop

__all__ = ["VirtualClock", "VirtualTimeLoop", "virtual_clock", "watch_workers"]

_Events = list[tuple[selectors.SelectorKey, int]]


class VirtualClock:
    """The virtual clock of one loop, as a loop thread drives it (all on the loop's thread
    but :meth:`time`)."""

    def waiting(self, delta: int) -> None:
        """A thread starts (+1) or stops (-1) waiting on the loop: the clock jumps when idle
        while one waits."""
        raise NotImplementedError

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, running every timer due on the way, in order."""
        raise NotImplementedError

    def time(self) -> float:
        """The clock's time (from any thread)."""
        raise NotImplementedError


# -- asyncio --------------------------------------------------------------------------------


class _Selector(selectors.DefaultSelector):
    """The platform's selector, whose ``select`` asks its loop how to wait."""

    owner: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> _Events:
        return self.owner._wait(super().select, timeout)


class VirtualTimeLoop(asyncio.SelectorEventLoop, VirtualClock):
    """A selector event loop whose clock is virtual.

    ``always=True`` (the loop of an async test, see the time page): the clock jumps
    whenever the loop is idle, as trio's ``MockClock(autojump_threshold=0)`` does. Else it
    jumps only while a thread waits on the loop (a sync client's call) or an
    :meth:`advance` runs. The clock never jumps while a worker thread runs for the loop.
    """

    def __init__(self, *, always: bool = False) -> None:
        self._now = 0.0
        self._always = always
        self._waiters = 0
        self._target: float | None = None  # where an advance stops
        self._reached: asyncio.Future[None] | None = None
        self._busy: Callable[[], bool] = lambda: False
        self._executor_calls: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
        selector = _Selector()
        selector.owner = self
        super().__init__(selector)
        # A timer is due when its time is below time() + _clock_resolution; asyncio's 1e-9
        # is below a float's step once the clock passes ~1e7 s, and a timer set exactly at the
        # clock would then never be due.
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self._now

    def waiting(self, delta: int) -> None:
        self._waiters += delta

    def watch(self, busy: Callable[[], bool]) -> None:
        """Have ``busy()`` say whether a worker thread runs for the loop: no jump meanwhile."""
        self._busy = busy

    async def advance(self, seconds: float) -> None:
        self._target = self._now + seconds
        self._reached = reached = self.create_future()
        try:
            await reached
        finally:
            self._target = self._reached = None

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        future = super().run_in_executor(executor, func, *args)
        self._executor_calls.add(future)
        return future

    def _workers_busy(self) -> bool:
        return self._busy() or any(not call.done() for call in self._executor_calls)

    def _next_timer(self) -> float | None:
        """When the next live timer is due; None if none is (or only at infinity)."""
        scheduled: list[Any] = self._scheduled  # type: ignore[attr-defined]
        while scheduled and scheduled[0]._cancelled:
            heapq.heappop(scheduled)._scheduled = False
            self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
        if scheduled and scheduled[0]._when < math.inf:
            return float(scheduled[0]._when)
        return None

    def _wait(self, select: Callable[[float | None], _Events], timeout: float | None) -> _Events:
        """How the loop waits when it has nothing ready: on its selector, or by a jump."""
        if timeout == 0:  # callbacks are ready: poll, never jump
            return select(0)
        target = self._target
        if not (self._always or self._waiters or target is not None):
            return select(None)  # the clock stands: only I/O or another thread brings work
        events = select(0)
        if events or self._workers_busy():
            return events or select(None)  # a worker's end wakes the loop through its self-pipe
        when = self._next_timer()
        if target is not None and (when is None or when > target):
            if self._now < target:
                self._now = target  # run what is due at the target, then end the advance
            elif self._reached is not None and not self._reached.done():
                self._reached.set_result(None)
            return []
        if when is None:
            return select(None)  # everything waits for ever: the thread's backstop ends the wait
        self._now = max(self._now, when)
        return []


# -- trio -------------------------------------------------------------------------------------


class _TrioClock(VirtualClock):
    """trio's ``MockClock`` (rate 0) with asgitest's rules for when it jumps."""

    def __init__(self) -> None:
        import trio
        import trio.testing

        self.clock = trio.testing.MockClock()
        self._waiters = 0
        self._advancing = False
        self._limiter: Any = None
        clock = self

        class Resync(trio.abc.Instrument):
            """Keeps the jump rule current: a wait, a worker thread, start or end in task steps."""

            def after_task_step(self, task: object) -> None:
                clock._sync()

        self.instrument = Resync()

    def install(self) -> None:
        """On the loop, from a task, once."""
        import trio

        trio.lowlevel.add_instrument(self.instrument)
        self._limiter = trio.to_thread.current_default_thread_limiter()  # anyio's borrows from it

    def _sync(self) -> None:
        busy = self._limiter is not None and self._limiter.borrowed_tokens > 0
        threshold = 0.0 if self._waiters and not self._advancing and not busy else math.inf
        if self.clock.autojump_threshold != threshold:
            self.clock.autojump_threshold = threshold

    def waiting(self, delta: int) -> None:
        self._waiters += delta
        self._sync()

    async def advance(self, seconds: float) -> None:
        import trio
        import trio.testing

        target = self.clock.current_time() + seconds
        self._advancing = True
        self._sync()
        try:
            while True:
                await trio.testing.wait_all_tasks_blocked()
                now = self.clock.current_time()
                step = trio.lowlevel.current_statistics().seconds_to_next_deadline
                if now + step > target:
                    self.clock.jump(target - now)
                    await trio.testing.wait_all_tasks_blocked()
                    return
                self.clock.jump(step)
        finally:
            self._advancing = False
            self._sync()

    def time(self) -> float:
        return float(self.clock.current_time())


def virtual_clock(backend: str) -> tuple[VirtualClock, dict[str, Any]]:
    """A virtual clock for a new loop of ``backend``, and the backend options that make the
    loop use it."""
    if backend == "trio":
        trio_clock = _TrioClock()
        return trio_clock, {"clock": trio_clock.clock}
    loop = VirtualTimeLoop()
    return loop, {"loop_factory": lambda: loop}


async def watch_workers(clock: VirtualClock | None = None) -> None:
    """On a loop with a virtual clock (``clock``, or the running asyncio loop if it is a
    :class:`VirtualTimeLoop`), from one of its tasks: hold the clock while worker threads run."""
    import anyio.to_thread

    if isinstance(clock, _TrioClock):
        clock.install()
        return
    loop = running_loop() if clock is None else clock
    if isinstance(loop, VirtualTimeLoop):
        limiter = anyio.to_thread.current_default_thread_limiter()
        loop.watch(lambda: limiter.borrowed_tokens > 0)
