"""Waiting with a bound, on either backend, for the hot paths of every request and message.

anyio's ``Event`` with ``move_on_after`` costs a cancel scope and a backend lookup per
wait: tens of microseconds, paid several times per request. :class:`Flag` does the same
job with the backend's own wake-ups (:mod:`._backend`): on asyncio a wait is one future
and, when bounded, one timer handle; on trio it is a ``trio.Event`` in a ``move_on_after``.

A cancellation of the waiting task (an anyio cancel scope, trio's or asyncio's own)
propagates as it would through any await.
"""

from __future__ import annotations

from ._backend import Waiter, new_waiter, wait_woken, wake

__all__ = ["Flag"]


class Flag:
    """Set once, from the loop's thread; any number of the loop's tasks wait for it, each
    with its own bound. A lighter ``anyio.Event`` with a timeout built in."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[Waiter] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter; idempotent."""
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        if waiters:
            for waiter in waiters:
                wake(waiter)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or ``timeout`` seconds (None: no bound) have passed;
        return whether it is set. Returns at once, without yielding, if it is set already."""
        if self._set:
            return True
        waiter = new_waiter()
        if self._waiters is None:
            self._waiters = [waiter]
        else:
            self._waiters.append(waiter)
        try:
            await wait_woken(waiter, timeout)
        finally:
            waiters = self._waiters
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
        return self._set
