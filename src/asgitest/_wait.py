"""Waiting with a bound, on asyncio or trio, for the hot paths of every request and message.

anyio's ``Event`` with ``move_on_after`` costs a cancel scope and a backend lookup per
wait: tens of microseconds, paid several times per request. :class:`Flag` does the same
job natively. On asyncio a wait is one future and, when bounded, one timer
handle; on trio it is a ``trio.Event`` in a ``move_on_after``. The backend is read from
the running loop itself (``asyncio._get_running_loop``, a C call that is None under
trio), not through sniffio.

A cancellation of the waiting task (an anyio cancel scope, trio's or asyncio's own)
propagates as it would through any await.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

__all__ = ["Flag", "cancelled_exc_class", "checkpoint", "current_loop"]

_get_running_loop = asyncio._get_running_loop


def cancelled_exc_class() -> type[BaseException]:
    """The running backend's cancellation exception."""
    if _get_running_loop() is not None:
        return asyncio.CancelledError
    import trio

    return trio.Cancelled


def current_loop() -> object:
    """The running event loop, as an identity to compare: asyncio's loop, or trio's run token."""
    loop = _get_running_loop()
    if loop is not None:
        return loop
    import trio

    return trio.lowlevel.current_trio_token()


async def checkpoint() -> None:
    """Let the loop run other tasks once (and see a pending cancellation)."""
    if _get_running_loop() is not None:
        await asyncio.sleep(0)
    else:
        import trio

        await trio.lowlevel.checkpoint()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Flag:
    """Set once, from the loop's thread; any number of the loop's tasks wait for it, each
    with its own bound. A lighter ``anyio.Event`` with a timeout built in."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[Any] | None = None  # asyncio futures or trio events

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
                if isinstance(waiter, asyncio.Future):
                    if not waiter.done():
                        waiter.set_result(None)
                else:
                    waiter.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or ``timeout`` seconds (None: no bound) have passed;
        return whether it is set. Returns at once, without yielding, if it is set already."""
        if self._set:
            return True
        loop = _get_running_loop()
        if loop is None:
            return await self._wait_trio(timeout)
        future: asyncio.Future[None] = loop.create_future()
        self._add(future)
        timer = None if timeout is None or timeout == math.inf else loop.call_later(max(timeout, 0.0), _expire, future)
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            self._remove(future)
        return self._set

    async def _wait_trio(self, timeout: float | None) -> bool:
        import trio

        event = trio.Event()
        self._add(event)
        try:
            with trio.move_on_after(math.inf if timeout is None else max(timeout, 0.0)):
                await event.wait()
        finally:
            self._remove(event)
        return self._set

    def _add(self, waiter: Any) -> None:
        if self._waiters is None:
            self._waiters = [waiter]
        else:
            self._waiters.append(waiter)

    def _remove(self, waiter: Any) -> None:
        waiters = self._waiters
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
