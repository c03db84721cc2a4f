"""One HTTP exchange between the test and the app.

The app runs as an app task. :meth:`HTTPExchange.start` returns as soon as the
app sent ``http.response.start``; the body reaches the test through a queue as
the app sends it. The body stream ends only once the app coroutine has returned,
so a test that reads the whole body (every plain ``client.get``) has waited for
the app's background tasks, as with Starlette's TestClient, and sees their
exceptions.

Leaving a response before its body is complete is a client disconnect: the app's
``receive()`` returns ``http.disconnect``, its sends raise ``ClientDisconnected``,
and it is cancelled if it has not returned within the grace period.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2

from ._config import ClientConfig
from ._errors import ASGIProtocolError, ASGITimeoutError, ClientDisconnected
from ._protocol import HTTPProtocol, HTTPState
from ._queue import Empty, MessageQueue
from ._registry import Registry
from ._runner import AppTask, spawn
from ._scope import http_scope
from ._types import Message

__all__ = ["HTTPExchange", "read_timeout"]


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Queued after the last body chunk.
_BODY_END = _Marker("BODY_END")
#: Queued when the app task finished, whatever the outcome.
_APP_DONE = _Marker("APP_DONE")

_BodyItem = bytes | _Marker


def read_timeout(request: httpx2.Request, default: float | None) -> float | None:
    """The per-request wait bound: httpx's ``read`` timeout if the request carries one."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict) and "read" in timeout:
        value = timeout["read"]
        return None if value is None else float(value)
    return default


class HTTPExchange:
    """The state of one request/response, shared by the app side and the test side."""

    def __init__(self, request: httpx2.Request, config: ClientConfig, registry: Registry) -> None:
        self.request = request
        self.config = config
        self.registry = registry
        self.where = f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"
        self.protocol = HTTPProtocol(self.where)
        self.timeout = read_timeout(request, config.timeout)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.debug: dict[str, Any] | None = None
        self.body: MessageQueue[_BodyItem] = MessageQueue()
        self.head_event = anyio.Event()
        self.complete_event = anyio.Event()
        self.disconnected_at: float | None = None
        self.disconnect_reason = ""
        self.task: AppTask | None = None
        self._request_body: AsyncIterator[bytes] | None = None
        self._lookahead: bytes | None = None
        self._request_done = False
        self._body_ended = False

    # -- the app's side -------------------------------------------------------------------

    async def receive(self) -> Message:
        if not self._request_done and self.disconnected_at is None:
            return await self._next_request_message()
        if self.disconnected_at is None and not self.complete_event.is_set():
            await self.complete_event.wait()
        return {"type": "http.disconnect"}

    async def _next_request_message(self) -> Message:
        if self._request_body is None:
            self._request_body = aiter(self.request.stream)  # type: ignore[arg-type]
            self._lookahead = await anext(self._request_body, None)
        chunk = self._lookahead or b""
        self._lookahead = await anext(self._request_body, None)
        more = self._lookahead is not None
        self._request_done = not more
        return {"type": "http.request", "body": bytes(chunk), "more_body": more}

    async def send(self, message: Message) -> None:
        if self.disconnected_at is not None:
            raise ClientDisconnected(
                f"the app sent {message.get('type')!r} on {self.where} ({self.config.label}) after "
                f"the client disconnected ({self.disconnect_reason}, "
                f"{time.monotonic() - self.disconnected_at:.3f}s ago)"
            )
        kind = self.protocol.app_sends(message)
        if kind == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and self.request.method != "HEAD":
                self.body.put(bytes(chunk))
            if self.protocol.state is not HTTPState.BODY:
                self.body.put(_BODY_END)
                if self.protocol.state is HTTPState.DONE:
                    self.complete_event.set()
        elif kind == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
            self.head_event.set()
        elif kind == "http.response.trailers":
            self.trailers.extend((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
            if self.protocol.state is HTTPState.DONE:
                self.complete_event.set()
        else:  # http.response.debug
            self.debug = dict(message.get("info", {}))

    async def _run_app(self) -> None:
        await self.config.app(http_scope(self.request, self.config), self.receive, self.send)

    def _app_done(self) -> None:
        self.head_event.set()
        self.body.put(_APP_DONE)

    # -- the test's side ------------------------------------------------------------------

    async def start(self) -> httpx2.Response:
        """Run the app until it starts the response; return the response with a streaming body.

        Raises:
            ASGITimeoutError: no response started within the timeout (the app is then disconnected).
            Exception: whatever the app raised before starting the response, if the client
                raises server exceptions; otherwise the response is a 500.
        """
        self.task = spawn(self.where, self._run_app, self._app_done)
        self.registry.opened(self)
        with anyio.move_on_after(self.timeout):
            await self.head_event.wait()
        if not self.head_event.is_set():
            await self.disconnect("no response in time")
            raise ASGITimeoutError(
                f"{self.where}: the app did not start a response within {self.timeout}s "
                f"({self.config.label}); it was sent http.disconnect and cancelled"
            )
        if self.protocol.state is HTTPState.START:  # the app finished without responding
            self.registry.ended(self)
            self._raise_app_error(before_response=True)
            return httpx2.Response(500, request=self.request)
        response = httpx2.Response(
            self.status,
            headers=self.headers,
            stream=ResponseBody(self),
            request=self.request,
            extensions={"http_version": b"HTTP/1.1", "http.response.trailers": self.trailers},
        )
        if self.debug is not None:
            response.extensions["http.response.debug"] = self.debug
            for name in ("template", "context"):
                if name in self.debug:
                    setattr(response, name, self.debug[name])
        return response

    def _raise_app_error(self, *, before_response: bool) -> None:
        assert self.task is not None
        error = self.task.exception
        if error is not None and self.config.raise_server_exceptions:
            raise error
        if before_response and error is None and self.config.raise_server_exceptions:
            raise ASGIProtocolError(
                f"{self.where}: the app returned without sending 'http.response.start' ({self.config.label})"
            )

    async def next_chunk(self) -> bytes | None:
        """The next body chunk; None once the body is complete and the app has returned."""
        item = await self._get()
        if item is _BODY_END:
            self._body_ended = True
            item = await self._get()
        if isinstance(item, bytes):
            return item
        self._end()
        return None

    def take_ready(self) -> tuple[bytes, bool]:
        """The body chunks queued already, and whether the app has returned too.

        Lets a caller on another thread skip a round trip when the app has already
        done its part; when it returns True the exchange is over (and raised what the
        app raised, as :meth:`next_chunk` would).
        """
        chunks: list[bytes] = []
        while True:
            try:
                item = self.body.get_nowait()
            except Empty:
                return b"".join(chunks), False
            if isinstance(item, bytes):
                chunks.append(item)
            elif item is _BODY_END:
                self._body_ended = True
            else:
                self._end()
                return b"".join(chunks), True

    def _end(self) -> None:
        """The app has returned: the exchange is over; raise what the app did wrong, if anything."""
        self.registry.ended(self)
        self._raise_app_error(before_response=False)
        if self.protocol.state is not HTTPState.DONE and self.config.raise_server_exceptions:
            raise ASGIProtocolError(
                f"{self.where}: the app returned before completing the response body ({self.config.label})"
            )

    async def _get(self) -> _BodyItem:
        waiting_for = "the app to return after the response body" if self._body_ended else "the next body chunk"
        try:
            return await self.body.get(self.timeout)
        except TimeoutError:
            await self.disconnect(f"timed out waiting for {waiting_for}")
            raise ASGITimeoutError(
                f"{self.where}: timed out after {self.timeout}s waiting for {waiting_for} "
                f"({self.config.label}); the app was sent http.disconnect and cancelled"
            ) from None

    async def disconnect(self, reason: str) -> None:
        """The client goes away: deliver http.disconnect, then cancel the app after the grace period."""
        self.registry.ended(self)
        if self.task is None or self.task.finished:
            return
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()
            self.disconnect_reason = reason
            self.complete_event.set()  # wakes a receive() waiting for the response to complete
        await self.task.finish(self.config.grace_period)

    async def abort(self, reason: str) -> None:
        await self.disconnect(reason)


class ResponseBody(httpx2.AsyncByteStream):
    """The response body as the app sends it."""

    def __init__(self, exchange: HTTPExchange) -> None:
        self.exchange = exchange
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._ended:
            chunk = await self.exchange.next_chunk()
            if chunk is None:
                self._ended = True
                return
            yield chunk

    @property
    def is_ended(self) -> bool:
        return self._ended

    def ended(self) -> None:
        """Record that the body was read to its end elsewhere (by the sync client)."""
        self._ended = True

    async def aclose(self) -> None:
        if not self._ended:
            self._ended = True
            await self.exchange.disconnect("the test closed the response before its end")
