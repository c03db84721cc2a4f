"""The asyncio/trio differences, and the one private API asgitest relies on."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import anyio
import pytest
import trio

from asgitest import _backend


def test_the_private_running_loop_lookup_exists_and_is_asyncio_s() -> None:
    """``asyncio._get_running_loop`` (a C call) tells asyncio from trio on the hot paths; a
    Python that drops or changes it fails here, not in every request."""
    assert _backend.running_loop is asyncio._get_running_loop
    assert _backend.running_loop() is None  # no loop runs in this thread

    async def on_asyncio() -> None:
        assert _backend.running_loop() is asyncio.get_running_loop()
        assert _backend.current_loop() is asyncio.get_running_loop()

    async def on_trio() -> None:
        assert _backend.running_loop() is None
        assert _backend.current_loop() is trio.lowlevel.current_trio_token()

    asyncio.run(on_asyncio())
    trio.run(on_trio)


pytestmark = pytest.mark.anyio


async def test_a_waiter_wakes_once_and_a_bound_ends_its_wait(anyio_backend: str) -> None:
    woken = _backend.new_waiter()
    _backend.wake(woken)
    _backend.wake(woken)  # idempotent
    with anyio.fail_after(5):
        await _backend.wait_woken(woken, None)
    with anyio.fail_after(5):  # never woken: the bound ends the wait
        await _backend.wait_woken(_backend.new_waiter(), 0.01)


async def test_cancellation_and_checkpoints_are_the_running_backend_s(anyio_backend: str) -> None:
    expected = asyncio.CancelledError if anyio_backend == "asyncio" else trio.Cancelled
    assert _backend.cancelled_exc_class() is expected
    with anyio.CancelScope() as scope:
        scope.cancel()
        await _backend.checkpoint()
        pytest.fail("the checkpoint sees the cancellation")  # pragma: no cover
    assert scope.cancelled_caught


async def test_a_started_task_runs_in_a_copy_of_the_caller_s_context(anyio_backend: str) -> None:
    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")
    variable.set("the test's")
    seen: list[str] = []
    done = anyio.Event()

    async def task(suffix: str) -> None:
        seen.append(variable.get() + suffix)
        variable.set("changed in the task")
        done.set()

    _backend.start_task("probe", task, "!")
    with anyio.fail_after(5):
        await done.wait()
    assert seen == ["the test's!"]
    assert variable.get() == "the test's"


async def test_a_cancellable_call_is_cancelled_by_what_it_hands_out(anyio_backend: str) -> None:
    cancel: list[Any] = []
    started, ended = anyio.Event(), anyio.Event()
    outcome: list[object] = []

    async def forever() -> None:
        started.set()
        await anyio.sleep_forever()

    async def call() -> None:
        try:
            outcome.append(await _backend.run_cancellable(cancel, forever))
        except BaseException as exc:  # asyncio: the task's own cancellation
            outcome.append(type(exc))
        finally:
            ended.set()

    _backend.start_task("call", call)
    with anyio.fail_after(5):
        await started.wait()
        cancel[0]()
        await ended.wait()
    # trio's cancel scope absorbs the cancellation; asyncio's task sees it
    assert outcome == [None] if anyio_backend == "trio" else outcome == [asyncio.CancelledError]


def test_a_dropped_client_s_cleanup_runs_in_no_app_s_context() -> None:
    """The collector may drop a sync client inside any app's task, whose context names that
    app's client as the owner of what it starts: the cleanup must not be handed to it."""
    import threading

    from asgitest import _runner
    from asgitest._loop_thread import shared_loop

    loop = shared_loop("asyncio", None)
    loop.portal()
    seen: list[object] = []
    done = threading.Event()

    async def cleanup() -> None:
        seen.append(_runner.task_owner.get())
        done.set()

    token = _runner.task_owner.set(seen.append)
    try:
        loop.submit(cleanup)
    finally:
        _runner.task_owner.reset(token)
    assert done.wait(5)
    assert seen == [None]


async def test_waiting_for_tasks_ignores_those_of_another_loop(anyio_backend: str) -> None:
    other = asyncio.new_event_loop()
    try:
        elsewhere = other.create_future()  # a pending task of a loop that is not running here
        with anyio.fail_after(5):
            assert await _backend.wait_tasks([elsewhere], 0.01) == set()
        elsewhere.cancel()
    finally:
        other.close()
