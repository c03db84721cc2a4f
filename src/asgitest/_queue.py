"""An unbounded message queue between the app and the test, on one loop.

``put`` never blocks, so an app that broadcasts from a background task is never
held up by a test that is busy elsewhere; ``get`` waits with a bound. Items can be
taken without awaiting (``get_nowait``), which lets a caller skip a round trip
when the message is already there, and a thread other than the loop's can have
itself woken by the next ``put`` (``call_on_put``) instead of a call into the loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from ._backend import Waiter, new_waiter, now, wait_woken, wake

__all__ = ["Empty", "MessageQueue"]

T = TypeVar("T")


class Empty(Exception):
    """``get_nowait`` found nothing."""


class MessageQueue(Generic[T]):
    """A FIFO with one consumer at a time."""

    __slots__ = ("_items", "_on_put", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: Waiter | None = None  # the consumer's, while it waits on the loop
        self._on_put: Callable[[], None] | None = None  # a waiter on another thread

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Append ``item`` and wake the consumer; never blocks."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            wake(waiter)
        on_put = self._on_put
        if on_put is not None:
            self._on_put = None
            on_put()

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
        deadline = None if timeout is None else now() + timeout
        while not self._items:
            waiter = self._waiter = new_waiter()
            try:
                await wait_woken(waiter, None if deadline is None else deadline - now())
            finally:
                self._waiter = None
            if deadline is not None and not self._items and now() >= deadline:
                break
        return bool(self._items)

    def call_on_put(self, callback: Callable[[], None]) -> bool:
        """Have ``callback`` called (on the loop's thread) by the next :meth:`put`, for a
        waiter on another thread; False if an item is there already (no need to wait).

        ``put`` appends before it looks for the callback, and this sets the callback
        before it looks for items, so one of the two always sees the other.
        """
        self._on_put = callback
        if self._items:
            self._on_put = None
            return False
        return True
