"""One HTTP exchange between the test and the app.

The app runs as an app task. A response the test reads whole (every call but
``stream()``) is collected as the app sends it and returned once the app has returned
(:meth:`HTTPExchange.read_whole`). A streamed one (:meth:`HTTPExchange.start`) is
returned as soon as the app sent ``http.response.start``; its body reaches the test
through a queue as the app sends it. The queue is bounded: once :data:`BODY_BUFFER`
bytes wait unread, the app's ``send`` waits for the test to read, as a server's socket
would. By default the body ends only once the app coroutine has returned, so a
test that reads the whole body (every plain ``client.get``) has waited for the
app's background tasks, as with Starlette's TestClient, and sees their
exceptions; with ``wait_for_app=False`` (per client, or per request through the
``wait_for_app`` request extension) the body ends with the app's last chunk and
the app keeps running: ``wait_idle()`` waits for it and re-raises what it raised.

The request body reaches the app as it is produced, in ``http.request`` messages
of at most :data:`REQUEST_CHUNK` bytes; a sync iterator (the sync client's
generator bodies, file uploads) is advanced in a worker thread, so the app reads
while the test's generator is still producing.

Leaving a response before its body is complete is a client disconnect: the app's
``receive()`` returns ``http.disconnect``, its sends raise ``ClientDisconnected``,
and it is cancelled, with an :class:`AppCancelledWarning`, if it has not returned
within the grace period.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import httpx2

from ._backend import cancelled_exc_class, checkpoint
from ._config import ClientConfig
from ._errors import (
    AppCancelledWarning,
    ASGIProtocolError,
    ASGITimeoutError,
    ClientDisconnected,
    is_disconnect_exit,
)
from ._protocol import HTTPProtocol, HTTPState
from ._queue import Empty, MessageQueue
from ._registry import Registry
from ._runner import AppTask, spawn
from ._scope import http_scope
from ._types import Message, Scope, message_type
from ._wait import Flag

__all__ = ["BODY_BUFFER", "REQUEST_CHUNK", "HTTPExchange", "RequestBody", "ResponseBody", "read_timeout"]

#: Bytes of response body the app may send ahead of the test's reads before its send waits.
BODY_BUFFER = 256 * 1024
#: The largest ``body`` of one ``http.request`` message.
REQUEST_CHUNK = 64 * 1024


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
_DISCONNECT = {"type": "http.disconnect"}


def read_timeout(request: httpx2.Request, default: float | None) -> float | None:
    """The per-request wait bound: httpx's ``read`` timeout if the request carries one."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict) and "read" in timeout:
        value = timeout["read"]
        return None if value is None else float(value)
    return default


class RequestBody:
    """The request body as ``http.request`` messages, produced as the app asks for them.

    A body known in full is cut into chunks, the last one with ``more_body=False``.
    A streamed body gives each chunk as it comes (cut if larger than
    :data:`REQUEST_CHUNK`) and ends with an empty message, as servers do: the end
    of a stream is known only once the producer says so. ``sync`` says the stream
    is a sync iterator (the sync client's), advanced in a worker thread so that the
    loop (and the app) run on while the test's generator produces.
    """

    __slots__ = ("_chunks", "_done", "_iterator", "_sync")

    def __init__(self, request: httpx2.Request, *, sync: bool) -> None:
        stream = request.stream
        self._done = False
        self._iterator: Any = None
        self._chunks: list[bytes] = []
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


class HTTPExchange:
    """The state of one request/response, shared by the app side and the test side."""

    def __init__(
        self,
        request: httpx2.Request,
        config: ClientConfig,
        registry: Registry,
        *,
        sync_body: bool = False,
        whole: bool = False,
    ) -> None:
        self.request = request
        self.config = config
        self.registry = registry
        self._began = time.perf_counter()  # for the response's ``elapsed``
        self.where = f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"
        self.number = registry.number()
        transcript = config.transcript(f"{self.where} (connection #{self.number} of {config.label})")
        self.protocol = HTTPProtocol(
            self.where, strict=config.strict, transcript=transcript, head=request.method == "HEAD"
        )
        #: The first rule the app broke, kept in case the app swallows the error its send raised.
        self.violation: ASGIProtocolError | None = None
        self.timeout = read_timeout(request, config.timeout)
        self.wait_for_app = bool(request.extensions.get("wait_for_app", config.wait_for_app))
        #: The test reads the whole response at once (see :meth:`read_whole`): the body is
        #: collected in a list, with no queue, no backpressure and one wait for the app.
        self.whole = whole and self.wait_for_app
        self._chunks: list[bytes] = []
        self._progress = time.monotonic()  # when the app last sent something (whole responses only)
        self.settled = Flag()  # the app has returned, or the request body's producer failed
        self._notify: Callable[[], None] | None = None  # see begin_whole
        #: What a whole response ends with, once the app has returned: (True, the response)
        #: or (False, the error to raise). Set on the loop before ``notify`` is called.
        self.outcome: tuple[bool, Any] | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.debug: dict[str, Any] | None = None
        self.body: MessageQueue[_BodyItem] = MessageQueue()
        self.head_event = Flag()
        self.complete_event = Flag()
        self.disconnected_at: float | None = None
        self.disconnect_reason = ""
        self.task: AppTask | None = None
        self.scope: Scope = {}
        self._sync_body = sync_body
        self._request_body: RequestBody | None = None
        self._receiving: anyio.CancelScope | None = None  # around a wait for the request body
        #: What the test's request body iterator raised; re-raised to the test.
        self.producer_error: Exception | None = None
        self._body_ended = False
        self._buffered = 0  # body bytes queued and not yet taken by the test
        self._space: Flag | None = None  # set when the test takes body bytes
        self._orphaned = False  # the test will read no more: the app's outcome goes to the registry
        self._cancel_notice: str | None = None  # what to warn if asgitest cancels the app

    # -- the app's side -------------------------------------------------------------------

    async def receive(self) -> Message:
        if self.disconnected_at is None:
            if self._request_body is None:
                self._request_body = RequestBody(self.request, sync=self._sync_body)
            if self._request_body.in_full and not self._request_body.done:  # nothing to wait for
                message = self._request_body.next_in_full()
                self.protocol.app_received(message)
                return message
            if not self._request_body.done:
                # A disconnect while the body is still being produced ends this wait, as it would
                # on a server: the app gets http.disconnect instead of the rest of the body.
                with anyio.CancelScope() as self._receiving:
                    try:
                        message = await self._request_body.next()
                    except Exception as exc:  # the test's body producer failed: the client goes away
                        self.producer_error = exc
                        self._mark_disconnected(f"the request body's producer raised {type(exc).__name__}")
                        self.head_event.set()  # wakes the test, to raise it
                        self._settled()
                    else:
                        self.protocol.app_received(message)
                        return message
                    finally:
                        self._receiving = None
            await self.complete_event.wait()
        self.protocol.app_received(_DISCONNECT)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.disconnected_at is not None:
            self.protocol.transcript.app_sent(message)
            self.protocol.transcript.note("that send raised ClientDisconnected in the app")
            raise ClientDisconnected(
                f"the app sent {message_type(message)!r} on {self.where} ({self.config.label}) after "
                f"the client disconnected ({self.disconnect_reason}, "
                f"{time.monotonic() - self.disconnected_at:.3f}s ago)\n{self.protocol.transcript.render()}"
            )
        try:
            kind = self.protocol.app_sends(message)
        except ASGIProtocolError as exc:
            self.violation = self.violation or exc
            raise
        if self.whole:
            self._progress = time.monotonic()
        if kind == "http.response.body":
            chunk = message.get("body", b"")
            if self.whole:
                if chunk and self.request.method != "HEAD":
                    self._chunks.append(bytes(chunk))
                if self.protocol.state is HTTPState.DONE:
                    self.complete_event.set()
                return
            if chunk and self.request.method != "HEAD":
                self.body.put(bytes(chunk))
                self._buffered += len(chunk)
            if self.protocol.state is not HTTPState.BODY:
                self.body.put(_BODY_END)
                if self.protocol.state is HTTPState.DONE:
                    self.complete_event.set()
            else:
                await self._wait_for_space()
        elif kind == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
            self.head_event.set()
        elif kind == "http.response.trailers":
            self.trailers.extend((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
            if self.protocol.state is HTTPState.DONE:
                self.complete_event.set()
        elif kind == "http.response.debug":
            self.debug = dict(message.get("info", {}))
        # else: a message the protocol drops (a push promise nobody offered, without strict)

    async def _wait_for_space(self) -> None:
        """Backpressure: hold the app while too much of its body waits unread (or until a disconnect)."""
        while self._buffered > BODY_BUFFER and self.disconnected_at is None:
            space = self._space = Flag()
            await space.wait()

    def _taken(self, chunk: bytes) -> bytes:
        self._buffered -= len(chunk)
        if self._space is not None and self._buffered <= BODY_BUFFER:
            self._space.set()
            self._space = None
        return chunk

    async def _run_app(self) -> None:
        try:
            await self.config.app(self.scope, self.receive, self.send)
        finally:
            if self._request_body is not None:
                await self._request_body.aclose()

    def _app_done(self) -> None:
        assert self.task is not None
        self.registry.finished(self.task)
        self.head_event.set()
        self.body.put(_APP_DONE)
        if self.task.cancelled and self._cancel_notice is not None:
            # Queued before anything that waited for the app resumes, so no later call misses it.
            self.registry.notice(AppCancelledWarning, self._cancel_notice)
        if self._orphaned:
            self.registry.ended(self)
            self._report_unobserved()
        self._settled()

    def _report_unobserved(self) -> None:
        """The app finished after the test stopped reading: keep its failure for wait_idle/close."""
        assert self.task is not None
        if self.disconnected_at is not None:  # returning early is fine now; a disconnect exit too
            error = self.task.exception
            if error is not None and self.config.raise_server_exceptions and not is_disconnect_exit(error):
                self.registry.unobserved(error)
            return
        failure = self._app_failure()
        if failure is not None:
            self.registry.unobserved(failure)

    def _orphan(self) -> None:
        """The test reads no more of this exchange; what the app still does is the registry's."""
        if self._orphaned:
            return
        self._orphaned = True
        assert self.task is not None
        if self.task.finished:
            self.registry.ended(self)
            self._report_unobserved()

    # -- the test's side ------------------------------------------------------------------

    def _spawn(self) -> None:
        self.scope = http_scope(self.request, self.config)
        self.protocol.transcript.opened(self.scope)
        self._progress = time.monotonic()
        self.task = spawn(self.where, self._run_app, self._app_done, owner=self.registry.adopt)
        self.registry.started(self.task)
        self.registry.opened(self)

    async def read_whole(self) -> httpx2.Response:
        """Run the app until it returns; return the response with its whole body.

        What a test that reads the whole response sees of :meth:`start` and the reads
        of its body, in one wait: the same bounds (the response start, each chunk and
        the app's return each within the timeout of the app's previous send), the same
        errors and the same disconnects.
        """
        self._spawn()
        try:
            finished = await self._wait_settled()
        except cancelled_exc_class():
            self._disconnect_in_background("the task awaiting the response was cancelled")
            raise
        return await self.conclude_whole(finished)

    def begin_whole(self, notify: Callable[[], None]) -> None:
        """:meth:`read_whole` for a caller on another thread: start the app (on the loop)
        and call ``notify`` (on the loop) once it has settled.

        If the app returned, :attr:`outcome` holds the response or the error to raise by
        then, and the caller needs no other call into the loop; otherwise (the request
        body's producer failed) it calls :meth:`conclude_whole`, as it does if the app
        sent nothing for the timeout (see :meth:`remaining`).
        """
        self._notify = notify
        try:
            self._spawn()
        except Exception as exc:  # the scope could not be built: the caller raises it
            self._notify = None
            self.outcome = (False, exc)
            self.settled.set()
            notify()

    def remaining(self) -> float | None:
        """Seconds left before the app has sent nothing for the timeout (None: no bound): the
        bound of a wait, on another thread, for the ``notify`` given to :meth:`begin_whole`."""
        return None if self.timeout is None else self._progress + self.timeout - time.monotonic()

    def concluded(self) -> httpx2.Response | None:
        """After ``notify`` was called: the response, or raise what the app did
        wrong; None if the exchange is to be concluded on the loop (:meth:`conclude_whole`)."""
        if self.outcome is None:  # the request body's producer failed
            return None
        return self._outcome_response()

    def _outcome_response(self) -> httpx2.Response:
        """The response in :attr:`outcome`, or raise the error there."""
        assert self.outcome is not None
        succeeded, value = self.outcome
        if succeeded:
            return value  # type: ignore[no-any-return]
        raise value

    def _settled(self) -> None:
        self.settled.set()
        notify, self._notify = self._notify, None
        if notify is None:
            return
        if self.producer_error is None:  # the app has returned: conclude here, on the loop
            try:
                self.outcome = (True, self.whole_response())
            except BaseException as exc:  # an app's SystemExit too: it is the test's to see, not the loop's
                self.outcome = (False, exc)
        notify()

    async def conclude_whole(self, finished: bool) -> httpx2.Response:
        """The end of :meth:`read_whole`, once the app has settled (``finished``) or has
        sent nothing for the timeout."""
        self._notify = None  # whatever happens now is concluded here
        if not finished and self.settled.is_set():  # it settled as the caller gave up waiting
            finished = True
        if finished and self.outcome is not None:
            return self._outcome_response()
        if self.producer_error is not None:
            await self.disconnect(self.disconnect_reason)
            raise self.producer_error
        if not finished:
            self._body_ended = self.protocol.state is HTTPState.DONE
            raise await self._timed_out(started=self.protocol.state is not HTTPState.START)
        return self.whole_response()

    def whole_response(self) -> httpx2.Response:
        """The response of an app that has returned, or raise what it did wrong."""
        if self.protocol.state is HTTPState.START:
            return self._unanswered()
        self._end()
        response = self._response(httpx2.ByteStream(b"".join(self._chunks)))
        if not any(name.lower() == b"content-encoding" for name, _ in self.headers):
            # Read here, where the body is whole already: httpx2's own read would go through
            # four generator layers to decode what needs no decoding. An encoded body is left
            # to httpx2, so that a body that fails to decode fails where it always does.
            response.read()
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._began)
        return response

    async def _wait_settled(self) -> bool:
        """Wait for the app to return, or the producer to fail; False if the app sent nothing
        for the timeout."""
        # The app task is scheduled already: yielding once lets it run first, and an app
        # that answers without waiting for anything has returned when this one resumes,
        # so there is nothing to wait for (one turn of the loop instead of two).
        await checkpoint()
        timeout = self.timeout
        if timeout is None:
            return await self.settled.wait()
        while not await self.settled.wait(self._progress + timeout - time.monotonic()):
            if self._progress + timeout <= time.monotonic():
                return False
        return True

    async def start(self) -> httpx2.Response:
        """Run the app until it starts the response; return the response with a streaming body.

        Raises:
            ASGITimeoutError: no response started within the timeout (the app is then disconnected).
            Exception: whatever the app raised before starting the response, if the client
                raises server exceptions; otherwise the response is a 500.
        """
        self._spawn()
        try:
            await checkpoint()  # the app's first step comes first (see _wait_settled)
            await self.head_event.wait(self.timeout)
        except cancelled_exc_class():
            self._disconnect_in_background("the task awaiting the response was cancelled")
            raise
        if self.producer_error is not None:
            await self.disconnect(self.disconnect_reason)
            raise self.producer_error
        if not self.head_event.is_set():
            raise await self._timed_out(started=False)
        if self.protocol.state is HTTPState.START:
            return self._unanswered()
        return self._response(ResponseBody(self))

    async def _timed_out(self, *, started: bool) -> ASGITimeoutError:
        """Disconnect an app that sent nothing for the timeout; return the error to raise.
        ``started``: it had started the response (else it is the response start that is late)."""
        assert self.task is not None
        activity = self.task.activity()
        if not started:
            outcome = await self.disconnect("no response in time", warn=False)
            return ASGITimeoutError(
                f"{self.where}: the app did not start a response within {self.timeout}s "
                f"({self.config.label}); {activity}; {outcome}.\n{self.protocol.transcript.render()}"
            )
        waiting_for = "the app to return after the response body" if self._body_ended else "the next body chunk"
        outcome = await self.disconnect(f"timed out waiting for {waiting_for}", warn=False)
        return ASGITimeoutError(
            f"{self.where}: timed out after {self.timeout}s waiting for {waiting_for} "
            f"({self.config.label}); {activity}; {outcome}.\n{self.protocol.transcript.render()}"
        )

    def _unanswered(self) -> httpx2.Response:
        """The app returned without starting a response: raise what it did wrong, else a 500."""
        self.registry.ended(self)
        self._raise_app_failure()
        # An unread empty body, as a server's 500 has: a streamed read of it reads nothing.
        return httpx2.Response(500, request=self.request, stream=httpx2.ByteStream(b""))

    def _response(self, stream: httpx2.AsyncByteStream) -> httpx2.Response:
        response = httpx2.Response(
            self.status,
            headers=self.headers,
            stream=stream,
            request=self.request,
            extensions={"http_version": b"HTTP/1.1", "http.response.trailers": self.trailers},
        )
        if self.debug is not None:
            response.extensions["http.response.debug"] = self.debug
            for name in ("template", "context"):
                if name in self.debug:
                    setattr(response, name, self.debug[name])
        return response

    def _app_failure(self) -> BaseException | None:
        """What the test should see of an app that returned: the first rule it broke, what it
        raised, or the rule that returning now breaks; None if all is well or not to be raised."""
        assert self.task is not None
        if not self.config.raise_server_exceptions:
            return None
        return self.violation or self.task.exception or self.protocol.app_returned()

    def _raise_app_failure(self) -> None:
        self._orphaned = True  # the test observes the app's outcome here; nothing is left to report
        failure = self._app_failure()
        if failure is not None:
            raise failure

    async def next_chunk(self) -> bytes | None:
        """The next body chunk the app sent (waiting for one if there is none yet).

        Each chunk is one ``http.response.body`` message, as a server writes it and an
        HTTP client reads it, even when several wait unread. None once the body is
        complete (and, by default, once the app has returned).
        """
        item = await self._get()
        if item is _BODY_END:
            self._body_ended = True
            if not self.wait_for_app:
                self._orphan()
                return None
            item = await self._get()
        if not isinstance(item, bytes):
            self._end()
            return None
        return self._taken(item)

    def take_ready(self) -> list[bytes] | None:
        """The body's chunks, if the app has already sent all of it; else None.

        Lets a caller on another thread skip round trips when the app has already
        done its part. Nothing is taken from a response still in progress, so that
        its body stays bounded by :data:`BODY_BUFFER` (a streaming read takes it chunk
        by chunk). A failure of the app is left in the queue, for the read that
        observes it (:meth:`next_chunk`) to raise.
        """
        try:
            last = self.body.peek_last()
        except Empty:
            return None
        if not (last is _APP_DONE or (last is _BODY_END and not self.wait_for_app)) or self._failed():
            return None
        chunks: list[bytes] = []
        while True:
            item = self.body.get_nowait()
            if isinstance(item, bytes):
                chunks.append(self._taken(item))
            elif item is _BODY_END:
                self._body_ended = True
                if not self.wait_for_app:
                    self._orphan()
                    return chunks
            else:
                self._end()
                return chunks

    def _failed(self) -> bool:
        """Whether :meth:`_end` would raise."""
        return self._app_failure() is not None

    def _end(self) -> None:
        """The app has returned: the exchange is over; raise what the app did wrong, if anything."""
        self.registry.ended(self)
        self._raise_app_failure()

    async def _get(self) -> _BodyItem:
        try:
            return await self.body.get(self.timeout)
        except TimeoutError:
            raise await self._timed_out(started=True) from None

    def _mark_disconnected(self, reason: str) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = time.monotonic()
            self.disconnect_reason = reason
            self.protocol.transcript.note(f"the client disconnected: {reason}")
            self.complete_event.set()  # wakes a receive() waiting for the response to complete
            if self._receiving is not None:  # or one waiting for the test to produce the body
                self._receiving.cancel()
            if self._space is not None:  # and a send waiting for the test to read
                self._space.set()
                self._space = None
        self._orphan()

    async def disconnect(self, reason: str, *, warn: bool = True) -> str:
        """The client goes away: deliver ``http.disconnect``; cancel the app after the grace period.

        Returns what became of the app, for messages. If the app had to be cancelled
        and ``warn`` is true, an :class:`AppCancelledWarning` is queued on the registry
        for the test's thread (a timeout error says it itself).
        """
        if self.task is None or self.task.finished:
            self._orphan()
            return "the app had already returned"
        self._mark_disconnected(reason)
        try:
            cancelled = await self._settle(warn=warn)
        except cancelled_exc_class():
            self._disconnect_in_background(reason)
            raise
        if cancelled:
            return (
                f"the app was sent http.disconnect and, still running after the "
                f"{self.config.grace_period}s grace period, cancelled"
            )
        return "the app was sent http.disconnect and returned"

    async def _settle(self, *, warn: bool) -> bool:
        """Give the disconnected app its grace period; True if it had to be cancelled."""
        assert self.task is not None
        if warn:
            self._cancel_notice = (
                f"{self.where} ({self.config.label}): the app was cancelled: it was still running "
                f"{self.config.grace_period}s after the client disconnected ({self.disconnect_reason}). "
                "A server would let it run on: stop when receive() returns "
                "http.disconnect (Starlette: await request.is_disconnected()) or when a send raises."
            )
        return not await self.task.finish(self.config.grace_period)

    def _disconnect_in_background(self, reason: str) -> None:
        """Disconnect without waiting: the task that would wait is being cancelled."""
        self._mark_disconnected(reason)
        assert self.task is not None
        if self.task.finished:
            return

        async def settle() -> None:
            try:
                await self._settle(warn=True)
            except ASGITimeoutError as exc:  # the app swallows cancellation
                self.registry.unobserved(exc)

        spawn(f"{self.where} (disconnect)", settle)

    def _left_open(self) -> str | None:
        return None if self._orphaned else f"response of {self.where} (not read to its end nor closed)"

    async def _abort(self, reason: str) -> None:
        """The client closes: an app still sending is disconnected; one whose response is
        complete (background work) gets the grace period to return, then it is cancelled
        (Starlette's client cancels it at once), with a warning."""
        if self.protocol.state is not HTTPState.DONE:
            await self.disconnect(reason)
            return
        assert self.task is not None
        self._orphan()
        if not await self.task.wait(self.config.grace_period):
            self._cancel_notice = (
                f"{self.where} ({self.config.label}): the app was cancelled: it was still running "
                f"{self.config.grace_period}s after its response was complete, when {reason}."
            )
            await self.task.finish(0)


class ResponseBody(httpx2.AsyncByteStream):
    """The response body as the app sends it."""

    def __init__(self, exchange: HTTPExchange) -> None:
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
        from ._registry import emit

        await self.disconnect()
        emit(self.exchange.registry.take_notices(), stacklevel=2)
