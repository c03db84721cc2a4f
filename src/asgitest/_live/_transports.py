"""The live clients' transports: httpx2's own, whose timeouts raise what the in-process
client raises, :class:`~asgitest.ASGITimeoutError` (a ``TimeoutError``), naming the request
and what it waited for: the response, or the next chunk of its body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2

from .._errors import ASGITimeoutError

__all__ = ["AsyncLiveTransport", "LiveTransport"]


def _timed_out(request: httpx2.Request, waiting_for: str, error: httpx2.TimeoutException) -> ASGITimeoutError:
    timeout = request.extensions.get("timeout", {}).get("read")
    url = request.url
    where = f"{request.method} {url.raw_path.decode('ascii', 'replace')} (live, {url.host}:{url.port})"
    return ASGITimeoutError(f"{where}: timed out after {timeout}s waiting for {waiting_for} ({type(error).__name__})")


class LiveTransport(httpx2.HTTPTransport):
    """httpx2's transport; its timeouts are asgitest's."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            response = super().handle_request(request)
        except httpx2.TimeoutException as exc:
            raise _timed_out(request, "the app's response", exc) from exc
        response.stream = _Body(response.stream, request)
        return response


class AsyncLiveTransport(httpx2.AsyncHTTPTransport):
    """httpx2's async transport; its timeouts are asgitest's."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx2.TimeoutException as exc:
            raise _timed_out(request, "the app's response", exc) from exc
        response.stream = _AsyncBody(response.stream, request)
        return response


class _Body(httpx2.SyncByteStream):
    def __init__(self, stream: Any, request: httpx2.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except httpx2.TimeoutException as exc:
            raise _timed_out(self._request, "the next body chunk", exc) from exc

    def close(self) -> None:
        self._stream.close()


class _AsyncBody(httpx2.AsyncByteStream):
    # An iterator object, not an async generator: one abandoned half-way needs no
    # finalizer (trio warns about every unexhausted async generator it collects).
    def __init__(self, stream: Any, request: httpx2.Request) -> None:
        self._stream = stream
        self._request = request
        self._chunks: Any = None

    def __aiter__(self) -> _AsyncBody:
        self._chunks = self._stream.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk: bytes = await self._chunks.__anext__()
        except httpx2.TimeoutException as exc:
            raise _timed_out(self._request, "the next body chunk", exc) from exc
        return chunk

    async def aclose(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None and hasattr(chunks, "aclose"):
            await chunks.aclose()
        await self._stream.aclose()
