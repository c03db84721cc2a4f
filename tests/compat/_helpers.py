"""Shared by the framework compatibility tests: reading the first items of a stream through either client."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import anyio.to_thread
import pytest

from ..conftest import SyncAdapter

#: httpx2's ``aiter_lines``/``EventSource`` drop their inner async generators unclosed when the
#: test stops reading an endless stream early; trio warns about each (see tests/test_streaming.py).
abandons_generators = pytest.mark.filterwarnings(
    r"ignore:Async generator 'httpx2\._models\.Response\.aiter_:ResourceWarning",
    r"ignore:Async generator 'httpcore2\._async\.connection_pool\.PoolByteStream:ResourceWarning",
)

#: In-process, a send after the test left a stream raises ClientDisconnected, as ASGI 2.4 asks of servers;
#: uvicorn speaks ASGI 2.3 and drops such sends, so what the framework does with the error shows in-process only.
send_after_disconnect = pytest.mark.asgi_in_process(
    reason="a send after a disconnect raises ClientDisconnected in-process (ASGI 2.4); uvicorn (ASGI 2.3) drops it"
)

#: A test that points the client elsewhere with ``base_url``: a live client always talks to the server's address.
base_url_host = pytest.mark.asgi_in_process(
    reason="base_url's host and scheme reach the app in-process; a live client talks to http://127.0.0.1:<port>"
)


async def first(items: Any, count: int) -> list[Any]:
    """The first ``count`` items of an async iterable, or of the sync iterable behind a SyncAdapter."""
    if isinstance(items, SyncAdapter):
        return await anyio.to_thread.run_sync(lambda: list(itertools.islice(iter(items.target), count)))
    async with contextlib.aclosing(aiter(items)) as iterator:
        return [await anext(iterator) for _ in range(count)]


async def collect(items: Any) -> list[Any]:
    """Every item of a finite async iterable, or of the sync iterable behind a SyncAdapter."""
    if isinstance(items, SyncAdapter):
        return await anyio.to_thread.run_sync(lambda: list(items.target))
    return [item async for item in items]


def upload() -> dict[str, Any]:
    """A multipart body with one field and one file."""
    return {"data": {"title": "notes"}, "files": {"doc": ("notes.txt", b"line 1\nline 2\n", "text/plain")}}
