"""An unbounded message queue between the app and the test, on one loop.

``put`` never blocks, so an app that broadcasts from a background task is never
held up by a test that is busy elsewhere; ``get`` waits with a bound. Items can be
taken without awaiting (``get_nowait``), which lets a caller skip a round trip
when the message is already there, and a thread other than the loop's can wait
for one with a plain lock (``wait_from_thread``) instead of a call into the loop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

from ._backend import Waiter, new_waiter, wait_woken, wake

__all__ = ["Empty", "MessageQueue"]

T = TypeVar("T")


class Empty(Exception):
    """``get_nowait`` found nothing."""


class MessageQueue(Generic[T]):
    """A FIFO with one consumer at a time."""

    __slots__ = ("_items", "_thread_waiter", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: Waiter | None = None  # the consumer's, while it waits on the loop
        self._thread_waiter: threading.Lock | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Append ``item`` and wake the consumer; never blocks."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            wake(waiter)
        thread_waiter = self._thread_waiter
        if thread_waiter is not None:
            self._thread_waiter = None
            thread_waiter.release()

    def peek(self) -> T:
        """The oldest item without taking it, or raise :class:`Empty`."""
        if self._items:
            return self._items[0]
        raise Empty

    def peek_last(self) -> T:
        """The newest item without taking it, or raise :class:`Empty`."""
        if self._items:
            return self._items[-1]
        raise Empty

    def get_nowait(self) -> T:
        """Take the oldest item, or raise :class:`Empty`."""
        if self._items:
            return self._items.popleft()
        raise Empty

    async def get(self, timeout: float | None) -> T:
        """Take the oldest item, waiting up to ``timeout`` seconds (None: forever).

        Raises:
            TimeoutError: nothing arrived in time (the caller adds the context).
        """
        if self._items or await self.wait_for_item(timeout):
            return self._items.popleft()
        raise TimeoutError

    async def wait_for_item(self, timeout: float | None) -> bool:
        """Wait until an item is present without taking it; False on timeout."""
        if self._items:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._items:
            waiter = self._waiter = new_waiter()
            try:
                await wait_woken(waiter, None if deadline is None else deadline - time.monotonic())
            finally:
                self._waiter = None
            if deadline is not None and not self._items and time.monotonic() >= deadline:
                break
        return bool(self._items)

    def wait_from_thread(self, timeout: float | None) -> bool:
        """Block the calling thread, not the loop's, until an item is present; False on timeout.

        ``put`` runs on the loop's thread and appends before it looks for a waiter,
        and this registers its waiter before it looks for items, so one of the two
        always sees the other.
        """
        if self._items:
            return True
        waiter = threading.Lock()
        waiter.acquire()
        self._thread_waiter = waiter
        if not self._items:
            waiter.acquire(timeout=-1 if timeout is None else min(max(timeout, 0.0), threading.TIMEOUT_MAX))
        self._thread_waiter = None
        return bool(self._items)
