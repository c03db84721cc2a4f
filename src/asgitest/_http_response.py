"""The response the test gets from an exchange: an ``httpx2.Response`` with the app's status,
headers and extensions (trailers, debug, early hints, pushes), and, when it is read as the
app sends it, its body (:class:`ResponseBody`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2

from ._protocol import HTTPState
from ._registry import emit

if TYPE_CHECKING:
    from ._http_reads import Read, StreamedExchange

__all__ = ["ResponseBody", "response_of", "unanswered"]


def response_of(exchange: Read, stream: httpx2.SyncByteStream | httpx2.AsyncByteStream) -> httpx2.Response:
    """The response the app started, with ``stream`` as its body."""
    response = httpx2.Response(
        exchange.status,
        headers=exchange.headers,
        stream=stream,
        request=exchange.request,
        extensions={"http_version": b"HTTP/1.1", "http.response.trailers": exchange.trailers},
    )
    offered = exchange.protocol.offered
    if "http.response.early_hint" in offered:
        response.extensions["http.response.early_hint"] = exchange.early_hints
    if "http.response.push" in offered:
        response.extensions["http.response.push"] = exchange.pushes
    if exchange.debug is not None:
        response.extensions["http.response.debug"] = exchange.debug
        for name in ("template", "context"):
            if name in exchange.debug:
                setattr(response, name, exchange.debug[name])
    return response


def unanswered(exchange: Read) -> httpx2.Response:
    """The app returned without starting a response: raise what it did wrong, else a 500."""
    exchange.end()
    # An unread empty body, as a server's 500 has: a streamed read of it reads nothing.
    return httpx2.Response(500, request=exchange.request, stream=httpx2.ByteStream(b""))


class ResponseBody(httpx2.AsyncByteStream):
    """The response body as the app sends it."""

    def __init__(self, exchange: StreamedExchange) -> None:
        self.exchange = exchange
        self._ended = False

    def __aiter__(self) -> ResponseBody:
        # An iterator object, not an async generator: one abandoned half-way needs no
        # finalizer (trio warns about every unexhausted async generator it collects).
        return self

    async def __anext__(self) -> bytes:
        if not self._ended:
            try:
                chunk = await self.exchange.next_chunk()
            except Exception:  # the app's failure, or a timeout: either way, the exchange is over
                self._ended = True
                raise
            if chunk is not None:
                return chunk
            self._ended = True
        raise StopAsyncIteration

    @property
    def is_ended(self) -> bool:
        return self._ended

    def ended(self) -> None:
        """Record that the body was read to its end elsewhere (by the sync client)."""
        self._ended = True

    async def disconnect(self) -> None:
        """Leave the response: a disconnect if the app had not sent its whole body yet.

        A body the app has sent whole is no early close, however little the test read of
        it: as when it is read to its end, the app's return is awaited (unless
        ``wait_for_app`` is off) and what it raised is raised here.
        """
        if self._ended:
            return
        self._ended = True
        exchange = self.exchange
        if exchange.protocol.state is not HTTPState.DONE:
            await exchange.disconnect("the test closed the response before its end")
            return
        while await exchange.next_chunk() is not None:
            pass  # the rest of a body already sent, unread

    async def aclose(self) -> None:
        await self.disconnect()
        emit(self.exchange.registry.take_notices(), stacklevel=2)
