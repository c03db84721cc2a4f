"""The request body, as the ``http.request`` messages the app receives.

A body known in full is cut into chunks of at most :data:`REQUEST_CHUNK` bytes; a streamed
one is given as it is produced, and a sync iterator (the sync client's generator bodies, file
uploads) is advanced in a worker thread, so the app reads while the test's generator is
still producing.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
import httpx2

from ._types import Message

__all__ = ["REQUEST_CHUNK", "RequestBody"]

#: The largest ``body`` of one ``http.request`` message.
REQUEST_CHUNK = 64 * 1024


class RequestBody:
    """The request body as ``http.request`` messages, produced as the app asks for them.

    A body known in full is cut into chunks, the last one with ``more_body=False``.
    A streamed body gives each chunk as it comes (cut if larger than
    :data:`REQUEST_CHUNK`) and ends with an empty message, as servers do: the end
    of a stream is known only once the producer says so. ``sync`` says the stream
    is a sync iterator (the sync client's), advanced in a worker thread so that the
    loop (and the app) run on while the test's generator produces.
    """

    __slots__ = ("_chunks", "_done", "_iterator", "_sync", "_waiting")

    def __init__(self, request: httpx2.Request, *, sync: bool) -> None:
        stream = request.stream
        self._done = False
        self._iterator: Any = None
        self._chunks: list[bytes] = []
        self._waiting: anyio.CancelScope | None = None  # around a wait for the producer
        if isinstance(stream, httpx2.ByteStream):
            body = b"".join(stream)
            self._chunks = [body[offset : offset + REQUEST_CHUNK] for offset in range(0, len(body), REQUEST_CHUNK)]
            self._chunks.reverse()  # taken from the end
            self._sync = None
        else:
            producer: Any = stream
            self._sync = sync or not hasattr(producer, "__aiter__")
            self._iterator = iter(producer) if self._sync else aiter(producer)

    @property
    def in_full(self) -> bool:
        """Whether the body was known in full: its messages come without waiting."""
        return self._sync is None

    def next_in_full(self) -> Message:
        """The next ``http.request`` message of a body known in full."""
        body = self._chunks.pop() if self._chunks else b""
        if not self._chunks:
            self._done = True
        return {"type": "http.request", "body": body, "more_body": not self._done}

    async def take(self) -> Message | None:
        """The next ``http.request`` message, or None if there is none to give: the body is
        done, or :meth:`interrupt` ended the wait for the producer."""
        if self._done:
            return None
        if self._sync is None:
            return self.next_in_full()
        with anyio.CancelScope() as self._waiting:
            try:
                return await self.next()
            finally:
                self._waiting = None
        return None

    def interrupt(self) -> None:
        """End a wait for the producer in :meth:`take`: the client went away, and the app is
        to get ``http.disconnect`` instead of the rest of the body, as on a server."""
        if self._waiting is not None:
            self._waiting.cancel()

    async def next(self) -> Message:
        """The next ``http.request`` message; the one with ``more_body=False`` is the last."""
        if self._sync is None:
            return self.next_in_full()
        if not self._chunks:
            chunk = await self._produce()
            if chunk is None:
                self._done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            self._chunks = [chunk[offset : offset + REQUEST_CHUNK] for offset in range(0, len(chunk), REQUEST_CHUNK)]
            self._chunks.reverse()
        return {"type": "http.request", "body": self._chunks.pop(), "more_body": True}

    async def _produce(self) -> bytes | None:
        while True:
            if self._sync:
                chunk = await anyio.to_thread.run_sync(next, self._iterator, None, abandon_on_cancel=True)
            else:
                chunk = await anext(self._iterator, None)
            if chunk is None or chunk:  # skip empty chunks: an empty body ends the stream
                return None if chunk is None else bytes(chunk)

    @property
    def done(self) -> bool:
        return self._done

    async def aclose(self) -> None:
        """Close an async producer the app stopped reading before its end."""
        if not self._done and self._sync is False:
            self._done = True
            close = getattr(self._iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()
