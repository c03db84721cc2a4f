"""The native wait primitive every request and message goes through, on asyncio and trio."""

from __future__ import annotations

import time

import anyio
import pytest

from asgitest._backend import cancelled_exc_class, checkpoint
from asgitest._queue import MessageQueue
from asgitest._wait import Flag

pytestmark = pytest.mark.anyio


async def test_a_flag_wakes_every_waiter() -> None:
    flag = Flag()
    woken: list[bool] = []

    async def waiter() -> None:
        woken.append(await flag.wait(10))

    async with anyio.create_task_group() as tasks:
        for _ in range(3):
            tasks.start_soon(waiter)
        await checkpoint()  # each waiter is parked on the flag now
        assert woken == []
        flag.set()
        flag.set()  # idempotent
    assert woken == [True, True, True]
    assert flag.is_set()
    assert await flag.wait(0)  # set already: no wait at all


async def test_a_flag_wait_ends_at_its_bound() -> None:
    flag = Flag()
    started = time.monotonic()
    assert not await flag.wait(0.05)
    assert 0.04 <= time.monotonic() - started < 1
    assert not await flag.wait(0)
    assert not await flag.wait(-1)


async def test_a_waiting_task_can_be_cancelled() -> None:
    flag = Flag()
    with anyio.move_on_after(0.05) as scope:
        await flag.wait(None)
    assert scope.cancelled_caught
    seen: list[str] = []

    async def waiter() -> None:
        try:
            await flag.wait(10)
        except cancelled_exc_class():
            seen.append("cancelled")
            raise

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiter)
        await checkpoint()
        tasks.cancel_scope.cancel()
    assert seen == ["cancelled"]
    assert not flag._waiters  # a cancelled wait leaves nothing behind
    flag.set()


async def test_a_queue_get_is_bounded_and_wakes_on_put() -> None:
    queue: MessageQueue[str] = MessageQueue()
    with pytest.raises(TimeoutError):
        await queue.get(0.02)

    async def produce() -> None:
        await checkpoint()
        queue.put("hello")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(produce)
        assert await queue.get(10) == "hello"
    assert not await queue.wait_for_item(0)

    async with anyio.create_task_group() as tasks:  # an unbounded wait (an app's receive)
        tasks.start_soon(produce)
        assert await queue.get(None) == "hello"
    with anyio.move_on_after(0.02) as scope:  # and it can be cancelled, leaving nothing behind
        await queue.get(None)
    assert scope.cancelled_caught
    queue.put("after")
    assert await queue.get(None) == "after"
