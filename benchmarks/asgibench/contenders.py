"""Contenders: running one session, sync or async, op batch by op batch; and the table of clients.

A :class:`Contender` is what the measuring needs (open, run ``n`` ops and time them,
close); :class:`SyncContender` and :class:`AsyncContender` run a session of
:mod:`.operations`. :data:`CLIENTS` names each client a scenario can run, with the
factory it is opened by.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.testclient import TestClient as StarletteTestClient

import asgitest

from .direct import direct_driver
from .drivers import (
    DriverFactory,
    asgitest_driver,
    async_asgi_testclient_driver,
    httpx2_asgi_driver,
    httpx2_floor_driver,
    httpx2_ws_driver,
)
from .floor import floor_client
from .operations import AsyncOp, SyncClientFactory, SyncOp

# -- running contenders --------------------------------------------------------------------------


class Contender(Protocol):
    name: str

    def open(self) -> None: ...

    def run(self, n: int) -> float:
        """Run ``n`` ops; return the seconds they took."""
        ...

    def close(self) -> None: ...


class SyncContender:
    def __init__(self, name: str, session: Callable[[], contextlib.AbstractContextManager[SyncOp]]) -> None:
        self.name = name
        self._session = session
        self._stack = contextlib.ExitStack()
        self._op: SyncOp | None = None

    def open(self) -> None:
        self._op = self._stack.enter_context(self._session())

    def run(self, n: int) -> float:
        assert self._op is not None
        start = time.perf_counter()
        self._op(n)
        return time.perf_counter() - start

    def close(self) -> None:
        self._stack.close()


class AsyncContender:
    """Runs an async session in one task of its own asyncio loop; the loop runs only while this is busy.

    The session is entered, used and left by that one task (as in a test under
    ``asyncio.run``), so clients built on anyio task groups and cancel scopes work.
    """

    def __init__(self, name: str, session: Callable[[], contextlib.AbstractAsyncContextManager[AsyncOp]]) -> None:
        self.name = name
        self._session = session
        self._loop = asyncio.new_event_loop()
        self._calls: asyncio.Queue[tuple[int, asyncio.Future[float]] | None] | None = None
        self._host: asyncio.Task[None] | None = None

    def open(self) -> None:
        self._calls = asyncio.Queue()
        opened: asyncio.Future[None] = self._loop.create_future()
        self._host = self._loop.create_task(self._serve(opened))
        self._loop.run_until_complete(opened)

    async def _serve(self, opened: asyncio.Future[None]) -> None:
        assert self._calls is not None
        try:
            async with self._session() as op:
                opened.set_result(None)
                while (call := await self._calls.get()) is not None:
                    n, done = call
                    start = time.perf_counter()
                    try:
                        await op(n)
                    except BaseException as exc:
                        done.set_exception(exc)
                        raise
                    done.set_result(time.perf_counter() - start)
        except BaseException as exc:
            if not opened.done():
                opened.set_exception(exc)
            raise

    def run(self, n: int) -> float:
        assert self._calls is not None
        done: asyncio.Future[float] = self._loop.create_future()
        self._calls.put_nowait((n, done))
        return self._loop.run_until_complete(done)

    def close(self) -> None:
        loop = self._loop
        try:
            if self._host is not None and not self._host.done():
                assert self._calls is not None
                self._calls.put_nowait(None)
                loop.run_until_complete(self._host)
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            if pending:
                print(f"warning: {self.name} left {len(pending)} task(s) running: {pending}", file=sys.stderr)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


# -- the clients -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A contender's client: sync (a client factory) or async (a driver factory)."""

    name: str
    sync: SyncClientFactory | None = None
    driver: DriverFactory | None = None
    #: Import names of the optional packages it needs.
    requires: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        return [module for module in self.requires if importlib.util.find_spec(module) is None]


CLIENTS = {
    client.name: client
    for client in [
        Client("asgitest", sync=asgitest.TestClient),
        Client("starlette", sync=StarletteTestClient),
        Client("httpx2-floor-sync", sync=floor_client),
        Client("asgitest-async", driver=asgitest_driver),
        Client("httpx2-asgi", driver=httpx2_asgi_driver),
        Client("httpx2-ws", driver=httpx2_ws_driver, requires=("wsproto",)),
        Client("httpx2-floor", driver=httpx2_floor_driver),
        Client("async-asgi-testclient", driver=async_asgi_testclient_driver, requires=("async_asgi_testclient",)),
        Client("direct", driver=direct_driver),
        # asgitest with every check (its default is strict=False), or recording no transcripts
        # (the checks-* scenarios)
        Client("asgitest-strict", sync=functools.partial(asgitest.TestClient, strict=True)),
        Client("asgitest-no-transcript", sync=functools.partial(asgitest.TestClient, transcripts=False)),
        Client("asgitest-async-strict", driver=functools.partial(asgitest_driver, strict=True)),
        Client("asgitest-async-no-transcript", driver=functools.partial(asgitest_driver, transcripts=False)),
    ]
}
