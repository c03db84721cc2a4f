"""The event-loop thread that the sync clients share, and how other threads reach it.

Rules of this module (the only one that knows about threads):

- One loop thread per backend and backend options, for the whole process: every
  :class:`~asgitest.TestClient` with the same backend and options runs its apps on it,
  as every connection of one server runs on that server's loop. So several clients (several
  users) can talk to one app through its loop-bound objects: queues, events, locks, pools.
- The thread starts when the first client that needs it is made (so no request's bound
  counts its start) and runs until the interpreter exits (it is a daemon; an exit hook
  stops it). A client's close ends only its own connections and tasks; the loop runs on
  for the others.
- Other threads reach the loop through its :class:`Portal`: one scheduled callback and one
  lock per call. A call from the loop's own thread (an app calling a sync client) would
  wait for itself for ever: it raises at once instead.
- An app that blocks the loop (a sync call in an async function) blocks every client of
  the loop, as it would block every connection of a server.
- A thread that waits for something the loop will do without a call into it (a message
  the app will send, an exchange that will settle) waits on a :class:`Wakeup` the loop
  sets: the one bounded thread-side wait, here and nowhere else. The async core knows
  nothing of threads: it takes the wake-up as a plain callback.
- A loop with a virtual clock (``clock="virtual"``, see :mod:`._virtual_clock`) is a loop
  of its own, never a real clock's. Its clock jumps only while a thread waits in a
  :meth:`Portal.call`, so its callers wait there, never on a :class:`Wakeup` (whose bound
  is real time); each such wait gives up after :data:`WALL_BACKSTOP` real seconds, for a
  loop that sync code blocks never jumps.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import sys
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

import anyio

from ._backend import hand_tasks_to, run_cancellable, soon_scheduler, spawner
from ._errors import ASGITimeoutError
from ._runner import task_owner
from ._virtual_clock import VirtualClock, virtual_clock, watch_workers

__all__ = ["LoopThread", "Portal", "Wakeup", "shared_loop", "within"]

T = TypeVar("T")

#: Seconds the interpreter's exit waits for a shared loop to end.
STOP_TIMEOUT = 5.0

#: Real seconds a call into a loop with a virtual clock may take: its own bounds count
#: virtual time, which a loop that sync code blocks never reaches.
WALL_BACKSTOP = 60.0

#: The clocks a loop thread can have.
CLOCKS = ("real", "virtual")


class Wakeup:
    """A one-shot wake-up of a thread other than the loop's: the loop calls :meth:`set`
    (never blocks, idempotent); the thread :meth:`wait` s for it, within a bound."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        with contextlib.suppress(RuntimeError):  # set already
            self._lock.release()

    def wait(self, remaining: Callable[[], float | None]) -> bool:
        """Block until set, or until ``remaining()`` seconds (None: no bound) are spent; True
        if set. ``remaining`` is read again when it runs out, so a bound that a sign of life
        from the app moves on (each send restarts a response's timeout) is kept."""
        while True:
            left = remaining()
            if left is not None and left <= 0:
                return self._lock.acquire(blocking=False)
            if self._lock.acquire(timeout=-1 if left is None else min(left, threading.TIMEOUT_MAX)):
                return True


def within(timeout: float | None) -> Callable[[], float | None]:
    """The ``remaining`` of a :meth:`Wakeup.wait` bounded by ``timeout`` seconds from now."""
    if timeout is None:
        return lambda: None
    deadline = time.monotonic() + timeout
    return lambda: deadline - time.monotonic()


class LoopThread:
    """One event loop in a daemon thread, reachable through a :class:`Portal`."""

    def __init__(self, backend: str, backend_options: dict[str, Any], name: str, clock: str = "real") -> None:
        self.backend = backend
        self.backend_options = backend_options
        self.name = name
        self._lock = threading.Lock()
        self._portal: Portal | None = None
        self._thread: threading.Thread | None = None
        #: The loop's virtual clock; None for a real one.
        self.clock: VirtualClock | None = None
        if clock == "virtual":
            self.clock, options = virtual_clock(backend)
            taken = sorted(options.keys() & backend_options.keys())
            if taken:
                raise ValueError(f"backend_options cannot set {', '.join(taken)} with clock='virtual': the clock does")
            self.backend_options = {**backend_options, **options}

    @property
    def running(self) -> bool:
        return self._portal is not None

    def portal(self) -> Portal:
        """The portal of the running loop; starts the thread on first use."""
        portal = self._portal
        if portal is None:
            with self._lock:
                if self._portal is None:
                    self._portal = self._start()
                portal = self._portal
        return portal

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` on the loop and return its result (one hand-off).

        Raises:
            RuntimeError: called from the loop's own thread, where it would wait for ever.
            ASGITimeoutError: the loop's clock is virtual, and the call took
                :data:`WALL_BACKSTOP` real seconds.
        """
        self.check_thread()
        return self.portal().call(function, *args)

    def advance(self, seconds: float) -> None:
        """Move the virtual clock ``seconds`` on, running everything due on the way."""
        if self.clock is None:
            raise RuntimeError("advance() needs a virtual clock: make the client with clock='virtual'")
        self.check_thread()
        self.portal().call(self.clock.advance, seconds, jumping=False)

    def clock_time(self) -> float:
        """The loop's clock: the virtual one, or the monotonic clock (which the real loops follow)."""
        return time.monotonic() if self.clock is None else self.clock.time()

    def call_soon(self, function: Callable[..., object], *args: Any) -> None:
        """Schedule the plain function ``function(*args)`` on the loop and return at once.

        Calls are run in the order they are made, and before any later :meth:`call`
        from the same thread. ``function`` must not raise.
        """
        self.portal().soon(function, *args)

    def submit(self, function: Callable[[], Awaitable[None]]) -> None:
        """Start ``function()`` as a task of the loop and return at once; it must not raise.

        Never blocks, from any thread: for a dropped client's cleanup, which the garbage
        collector may run on another loop's thread.
        """
        portal = self._portal
        if portal is not None:
            # In an empty context: the collector may run this inside any app's task, whose
            # context names that app's client as the owner of the tasks it starts.
            contextvars.Context().run(portal.soon, portal.spawn, function)

    def check_thread(self) -> None:
        """Raise if the caller is the loop's own thread: a wait for the loop there never ends."""
        if self._thread is not None and threading.current_thread() is self._thread:
            raise RuntimeError(
                "a sync TestClient was called from its own event loop (by an app, or a task on that loop): "
                "it would wait for itself for ever. Use an AsyncTestClient there, on the running loop."
            )

    def _start(self) -> Portal:
        ready = threading.Event()
        failure: list[BaseException] = []
        portals: list[Portal] = []

        async def serve() -> None:
            stopped = anyio.Event()
            _hand_generators_to_their_owner()
            hand_tasks_to(task_owner)
            if self.clock is not None:
                await watch_workers(self.clock)
            async with spawner(self.backend) as spawn:
                portals.append(Portal(soon_scheduler(self.backend), spawn, stopped, self.clock))
                ready.set()
                await stopped.wait()

        def main() -> None:
            try:
                anyio.run(serve, backend=self.backend, backend_options=self.backend_options)
            except BaseException as exc:
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=main, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread
        return portals[0]

    def stop(self) -> None:
        """Stop the loop and join its thread (at interpreter exit; a no-op if not running).

        A call still waiting there (an app that never answers a client without a timeout)
        may keep the loop from ending: the join gives up after :data:`STOP_TIMEOUT`, and the
        daemon thread ends with the interpreter.
        """
        with self._lock:
            portal, self._portal = self._portal, None
            thread, self._thread = self._thread, None
        if portal is not None and thread is not None and thread is not threading.current_thread():
            portal.stop()
            thread.join(STOP_TIMEOUT)


class Portal:
    """Runs coroutine functions on a loop from other threads, and waits for their result.

    One scheduled callback and one lock per call: lighter than anyio's blocking
    portal (no future, no cancel scope per call), which a sync request pays for
    once. Calls start in the order they are made. A caller interrupted while it
    waits (Ctrl-C in the test) cancels its call on the loop and waits for that, so a
    client is never left half-entered by a call that runs on without its caller.
    """

    def __init__(
        self,
        soon: Callable[..., object],
        spawn: Callable[[Callable[[], Awaitable[None]]], None],
        stopped: anyio.Event,
        clock: VirtualClock | None = None,
    ) -> None:
        self.soon = soon
        self.spawn = spawn
        self._stopped = stopped
        self._clock = clock

    def call(self, function: Callable[..., Awaitable[T]], *args: Any, jumping: bool = True) -> T:
        """``function(*args)``, run on the loop; the caller waits for it. On a virtual clock,
        the clock jumps while it waits (unless not ``jumping``: an advance moves it itself),
        and the wait ends after :data:`WALL_BACKSTOP` real seconds."""
        done = threading.Lock()
        done.acquire()
        outcome: list[tuple[bool, Any]] = []
        cancel: list[Callable[[], object]] = []  # the call's cancellation, once it runs; a marker if not yet
        clock = self._clock if jumping else None

        async def run() -> None:
            try:
                if cancel:  # interrupted before it started
                    return
                outcome.append((True, await run_cancellable(cancel, function, *args)))
            except Exception as exc:
                outcome.append((False, exc))
            except BaseException as exc:
                outcome.append((False, exc))  # for the caller: an app's SystemExit, say
                if isinstance(exc, anyio.get_cancelled_exc_class()):
                    raise  # the loop is ending: so does this task; but nothing else ends the loop
            finally:
                if clock is not None:
                    clock.waiting(-1)
                done.release()

        def start() -> None:  # one hand-off: the wait begins where the call does
            if clock is not None:
                clock.waiting(+1)
            self.spawn(run)

        try:
            self.soon(start)
            if not done.acquire(timeout=-1 if self._clock is None else WALL_BACKSTOP):
                raise _Backstop
        except BaseException as exc:  # the waiting thread was interrupted (KeyboardInterrupt), or gave up
            self.soon(_cancel_call, cancel)
            done.acquire(timeout=STOP_TIMEOUT)
            if isinstance(exc, _Backstop):
                raise _backstop_error(function) from None
            raise
        succeeded, value = outcome[0]
        if succeeded:
            return cast(T, value)
        raise value

    def stop(self) -> None:
        """End the loop's run: its thread returns once the calls in flight are done."""
        self.soon(self._stopped.set)


class _Backstop(Exception):
    """A call into a loop with a virtual clock ran out of real time."""


def _backstop_error(function: Callable[..., object]) -> ASGITimeoutError:
    name = getattr(function, "__qualname__", repr(function))
    return ASGITimeoutError(
        f"{name} took {WALL_BACKSTOP}s of real time on a loop with a virtual clock, whose bounds count "
        "virtual time: something blocks the loop (a sync call in an async function, a real socket?)"
    )


def _cancel_call(cancel: list[Callable[[], object]]) -> None:
    """On the loop: cancel a call whose caller stopped waiting (or keep it from starting)."""
    if cancel:
        cancel[0]()
    else:
        cancel.append(_not_started)


def _not_started() -> None:
    """The marker of a call cancelled before it started."""


#: The shared loop threads, by backend, backend options and clock.
_shared: dict[tuple[str, Hashable, str], LoopThread] = {}
_shared_lock = threading.Lock()


def shared_loop(backend: str, backend_options: dict[str, Any] | None, clock: str = "real") -> LoopThread:
    """The loop thread of every sync client with this backend, these options and this clock.

    Options whose values cannot be compared (unhashable ones) get a loop of their own.
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock is 'real' or 'virtual', not {clock!r}")
    options = dict(backend_options or {})
    virtual = ", virtual clock" if clock == "virtual" else ""
    try:
        key: tuple[str, Hashable, str] = (backend, frozenset(options.items()), clock)
        hash(key)
    except TypeError:
        return LoopThread(backend, options, f"asgitest loop ({backend}, own options{virtual})", clock)
    with _shared_lock:
        loop = _shared.get(key)
        if loop is None:
            detail = f", {options}" if options else ""
            loop = _shared[key] = LoopThread(backend, options, f"asgitest loop ({backend}{detail}{virtual})", clock)
        return loop


@atexit.register
def _stop_shared() -> None:  # pragma: no cover - runs at interpreter exit
    with _shared_lock:
        loops = list(_shared.values())
    for loop in loops:
        loop.stop()


def _hand_generators_to_their_owner() -> None:
    """From now on, on this thread, give each async generator an app begins to the client
    that runs the app, for its close to finish it (as the end of a loop would)."""
    hooks = sys.get_asyncgen_hooks()  # the running loop's own: they still run

    def firstiter(generator: AsyncGenerator[Any, Any]) -> None:
        owner = task_owner.get()
        if owner is not None:
            owner(generator)
        if hooks.firstiter is not None:
            hooks.firstiter(generator)

    sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=hooks.finalizer)
