"""Fixtures that run every client-level test through both clients, on asyncio and trio.

Tests are written once, against the async API. The ``make_client`` fixture gives
either an :class:`~asgitest.AsyncTestClient` on the test's loop, or a
:class:`~asgitest.TestClient` (whose loop thread uses the same backend) behind
:class:`SyncAdapter`, which runs each blocking call in a worker thread so the
test's own loop stays free. Only call plumbing differs: every behaviour asserted
is the real client's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from asgitest import AsyncTestClient, LiveServer, TestClient
from asgitest._types import ASGIApp
from asgitest.pytest_plugin import is_live

# Calls that return a context manager without doing I/O: build it here, enter it in a thread.
_CONTEXT_FACTORIES = {"websocket_connect", "stream", "sse"}


class SyncAdapter:
    """The async face of a sync object: every call runs in a worker thread."""

    def __init__(self, target: Any) -> None:
        self._target = target

    @property
    def target(self) -> Any:
        return self._target

    def __getattr__(self, name: str) -> Any:
        target = self._target
        if name.startswith("aiter_") and hasattr(target, name[1:]):
            return functools.partial(_aiter_in_thread, getattr(target, name[1:]))
        if name in {"aread", "aclose"} and hasattr(target, name[1:]):
            name = name[1:]
        value = getattr(target, name)
        if not callable(value):
            return value
        if name in _CONTEXT_FACTORIES:
            return lambda *args, **kwargs: _SyncContext(value(*args, **kwargs))

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await anyio.to_thread.run_sync(functools.partial(value, *args, **kwargs))

        return call

    async def __aenter__(self) -> SyncAdapter:
        await anyio.to_thread.run_sync(self._target.__enter__)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await anyio.to_thread.run_sync(self._target.__exit__, *exc_info)


class _SyncContext:
    def __init__(self, manager: Any) -> None:
        self._manager = manager

    async def __aenter__(self) -> SyncAdapter:
        return SyncAdapter(await anyio.to_thread.run_sync(self._manager.__enter__))

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        result: bool | None = await anyio.to_thread.run_sync(self._manager.__exit__, *exc_info)
        return result


async def _aiter_in_thread(method: Callable[..., Iterator[Any]], *args: Any) -> AsyncIterator[Any]:
    iterator = await anyio.to_thread.run_sync(lambda: iter(method(*args)))
    done = object()
    try:
        while (item := await anyio.to_thread.run_sync(next, iterator, done)) is not done:
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


ClientFactory = Callable[..., Any]


@pytest.fixture
def make_client(flavor: str, anyio_backend: str, request: pytest.FixtureRequest) -> Iterator[ClientFactory]:
    """Build a client of the test's flavour: ``make_client(app, **kwargs)``.

    Use it as ``async with make_client(app) as client`` (lifespan runs) or call
    ``await client.aclose()`` when done. Sync clients left open are closed at teardown.
    With ``--asgi-live``, the app is served by uvicorn (lifespan included) and the
    client is a live one with the same API; servers stop at teardown and re-raise
    what the app raised on them.
    """
    made: list[Any] = []
    servers: list[LiveServer] = []
    live = is_live(request.node)

    def factory(app: ASGIApp, **kwargs: Any) -> Any:
        if live:
            # The server's startup is bound by the client's timeout, as the client's lifespan is.
            server = LiveServer(app, **{k: v for k, v in kwargs.items() if k == "timeout"})
            server.start()
            servers.append(server)
            if flavor == "async":
                return server.async_client(**kwargs)
            client: Any = server.client(**kwargs)
        elif flavor == "async":
            return AsyncTestClient(app, **kwargs)
        else:
            client = TestClient(app, backend=anyio_backend, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return SyncAdapter(client)

    yield factory
    for client in made:
        client.close()
    for server in servers:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a live run, keep the client-level tests, and skip those that are in-process by nature."""
    if not items or (not is_live(items[0]) and not config.getoption("--asgi-live")):
        return
    kept = []
    for item in items:
        if "make_client" not in getattr(item, "fixturenames", ()) and item.get_closest_marker("asgi_live") is None:
            continue
        marker = item.get_closest_marker("asgi_in_process")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "in-process by nature")
            item.add_marker(pytest.mark.skip(reason=f"in-process only: {reason}"))
        kept.append(item)
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture(autouse=True)
def one_loop_thread_per_backend() -> Iterator[None]:
    """Every test ends with at most one asgitest loop thread per backend (and options): the
    sync clients share it, however many of them the test made and left unclosed."""
    yield
    names = [t.name for t in threading.enumerate() if t.name.startswith("asgitest loop")]
    assert len(names) == len(set(names)), f"loop threads: {names}"
