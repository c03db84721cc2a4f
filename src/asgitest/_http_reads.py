"""How the test reads an HTTP response: whole, with one wait, or streamed, chunk by chunk.

:class:`WholeRead` is every call but ``stream()``: the body is collected in a list as the
app sends it, and the response is returned once the app has returned, with one wait whose
bound each send of the app restarts. :class:`StreamedRead` returns the response as soon as
the app sent ``http.response.start``; its body reaches the test through a queue. The queue
is bounded: once :data:`BODY_BUFFER` bytes wait unread, the app's ``send`` waits for the
test to read, as a server's socket would. Both raise the same errors at the same points,
and a caller on another thread (the sync client) drives either with at most one hand-off
to the loop per call.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import httpx2

from ._backend import cancelled_exc_class, checkpoint, now
from ._config import ClientConfig
from ._connection import APP_DONE
from ._errors import ASGITimeoutError
from ._http import HTTPExchange, waits_for_app
from ._http_response import ResponseBody, response_of, unanswered
from ._protocol import HTTPState
from ._queue import Empty, MessageQueue
from ._registry import Registry
from ._wait import Flag

__all__ = ["BODY_BUFFER", "Read", "StreamedExchange", "WholeExchange", "open_exchange"]

#: Bytes of response body the app may send ahead of the test's reads before its send waits.
BODY_BUFFER = 256 * 1024

#: Queued after the last body chunk.
_BODY_END: Any = {"type": "asgitest.body_end"}


class Read(HTTPExchange):
    """What both ways of reading a response share: how the read ends, with the app's
    outcome, a failed request body, or a timeout."""

    def end(self) -> None:
        """The app has returned: the exchange is over; raise what the app did wrong, if anything."""
        self.registry.ended(self)
        self._orphaned = True  # the test observes the app's outcome here; nothing is left to report
        failure = self.app_failure()
        if failure is not None:
            raise failure

    def failed(self) -> bool:
        """Whether :meth:`end` would raise."""
        return self.app_failure() is not None

    async def fail_with_producer(self) -> None:
        """The test's request body producer failed: disconnect the app, and raise that."""
        assert self.producer_error is not None
        await self.disconnect(self.protocol.disconnect_reason)
        raise self.producer_error

    async def timed_out_after(self, *, started: bool) -> ASGITimeoutError:
        """Disconnect an app that sent nothing for the timeout; return the error to raise.
        ``started``: it had started the response (else it is the response start that is late)."""
        activity = self.activity()
        if started:
            waiting_for = "the app to return after the response body" if self.body_ended else "the next body chunk"
            outcome = await self.disconnect(f"timed out waiting for {waiting_for}", warn=False)
            text = f"timed out after {self.timeout}s waiting for {waiting_for}"
        else:
            outcome = await self.disconnect("no response in time", warn=False)
            text = f"the app did not start a response within {self.timeout}s"
        return self.timed_out(f"{self.where}: {text} ({self.config.label})", activity, outcome)


class WholeExchange(Read):
    """An exchange whose response the test reads at once: no queue, no backpressure, one
    wait for the app."""

    def __init__(self, request: httpx2.Request, config: ClientConfig, registry: Registry, *, sync_body: bool) -> None:
        super().__init__(request, config, registry, sync_body=sync_body)
        self._chunks: list[bytes] = []
        self._progress = time.monotonic()  # when the app last sent something (on the loop's clock once it runs)
        self._notify: Callable[[], None] | None = None  # see begin
        #: What the response ends with, once the app has returned: (True, the response) or
        #: (False, the error to raise). Set on the loop before ``notify`` is called.
        self.outcome: tuple[bool, Any] | None = None

    # -- what the app's sends do ----------------------------------------------------------

    def sent(self) -> None:
        self._progress = now()

    async def body(self, chunk: bytes, state: HTTPState) -> None:
        if chunk:
            self._chunks.append(chunk)
        if state is HTTPState.DONE:
            self.complete_event.set()

    def read_settled(self) -> None:
        """The app returned, or the request body's producer failed (on the loop)."""
        notify, self._notify = self._notify, None
        if notify is None:
            return
        if self.producer_error is None:  # the app has returned: conclude here, on the loop
            try:
                self.outcome = (True, self.response_of_returned_app())
            except BaseException as exc:  # an app's SystemExit too: it is the test's to see, not the loop's
                self.outcome = (False, exc)
        notify()

    # -- the test's side ------------------------------------------------------------------

    async def response(self) -> httpx2.Response:
        """Run the app until it returns; return the response with its whole body.

        What a test that reads the whole response sees of a streamed read and the reads of
        its body, in one wait: the same bounds (the response start, each chunk and the app's
        return each within the timeout of the app's previous send), the same errors and the
        same disconnects.
        """
        self.spawn()
        self._progress = now()
        try:
            finished = await self._wait_settled()
        except cancelled_exc_class():
            self.disconnect_in_background("the task awaiting the response was cancelled")
            raise
        return await self.conclude(finished)

    def begin(self, notify: Callable[[], None]) -> None:
        """:meth:`response` for a caller on another thread: start the app (on the loop) and
        call ``notify`` (on the loop) once it has settled.

        If the app returned, :attr:`outcome` holds the response or the error to raise by
        then, and the caller needs no other call into the loop; otherwise (the request
        body's producer failed) it calls :meth:`conclude`, as it does if the app sent
        nothing for the timeout (see :meth:`remaining`).
        """
        self._notify = notify
        try:
            self.spawn()
        except Exception as exc:  # the scope could not be built: the caller raises it
            self._notify = None
            self.outcome = (False, exc)
            self.settled.set()
            notify()
            return
        self._progress = now()

    def remaining(self) -> float | None:
        """Seconds left before the app has sent nothing for the timeout (None: no bound): the
        bound of a wait, on another thread, for the ``notify`` given to :meth:`begin`. Only
        for a real clock, whose times :func:`~asgitest._backend.now` gives as the monotonic
        clock does (a virtual clock's caller waits on the loop instead)."""
        timeout = self.timeout
        return None if timeout is None else self._progress + timeout - time.monotonic()

    def concluded(self) -> httpx2.Response | None:
        """After ``notify`` was called: the response, or raise what the app did wrong; None
        if the exchange is to be concluded on the loop (:meth:`conclude`)."""
        if self.outcome is None:  # the request body's producer failed
            return None
        return self._outcome_response()

    def _outcome_response(self) -> httpx2.Response:
        assert self.outcome is not None
        succeeded, value = self.outcome
        if succeeded:
            return value  # type: ignore[no-any-return]
        raise value

    async def conclude(self, finished: bool) -> httpx2.Response:
        """The end of :meth:`response`, once the app has settled (``finished``) or has sent
        nothing for the timeout."""
        self._notify = None  # whatever happens now is concluded here
        if not finished and self.settled.is_set():  # it settled as the caller gave up waiting
            finished = True
        if finished and self.outcome is not None:
            return self._outcome_response()
        if self.producer_error is not None:
            await self.fail_with_producer()
        if not finished:
            self.body_ended = self.protocol.state is HTTPState.DONE
            raise await self.timed_out_after(started=self.protocol.state is not HTTPState.START)
        return self.response_of_returned_app()

    def response_of_returned_app(self) -> httpx2.Response:
        """The response of an app that has returned, or raise what it did wrong."""
        if self.protocol.state is HTTPState.START:
            return unanswered(self)
        self.end()
        response = response_of(self, httpx2.ByteStream(b"".join(self._chunks)))
        if not any(name.lower() == b"content-encoding" for name, _ in self.headers):
            # Read here, where the body is whole already: httpx2's own read would go through
            # four generator layers to decode what needs no decoding. An encoded body is left
            # to httpx2, so that a body that fails to decode fails where it always does.
            response.read()
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self.began)
        return response

    async def _wait_settled(self) -> bool:
        """Wait for the app to return, or the producer to fail; False if the app sent nothing
        for the timeout."""
        # The app task is scheduled already: yielding once lets it run first, and an app
        # that answers without waiting for anything has returned when this one resumes,
        # so there is nothing to wait for (one turn of the loop instead of two).
        await checkpoint()
        settled = self.settled
        timeout = self.timeout
        if timeout is None:
            return await settled.wait()
        while not await settled.wait(self._progress + timeout - now()):
            if self._progress + timeout <= now():
                return False
        return True


class StreamedExchange(Read):
    """An exchange whose response the test gets as soon as it starts, and whose body it
    reads chunk by chunk, through a bounded queue."""

    def __init__(self, request: httpx2.Request, config: ClientConfig, registry: Registry, *, sync_body: bool) -> None:
        super().__init__(request, config, registry, sync_body=sync_body)
        self.queue: MessageQueue[Any] = MessageQueue()  # body chunks (bytes), then markers
        self._buffered = 0  # body bytes queued and not yet taken by the test
        self._space: Flag | None = None  # set when the test takes body bytes

    # -- what the app's sends do ----------------------------------------------------------

    async def body(self, chunk: bytes, state: HTTPState) -> None:
        if chunk:
            self.queue.put(chunk)
            self._buffered += len(chunk)
        if state is not HTTPState.BODY:
            self.queue.put(_BODY_END)
            if state is HTTPState.DONE:
                self.complete_event.set()
            return
        # Backpressure: hold the app while too much of its body waits unread (or until a disconnect).
        while self._buffered > BODY_BUFFER and not self.protocol.refusing:
            space = self._space = Flag()
            await space.wait()

    def app_finished(self) -> None:
        self.queue.put(APP_DONE)

    def read_disconnected(self) -> None:
        if self._space is not None:
            self._space.set()
            self._space = None

    # -- the test's side ------------------------------------------------------------------

    async def response(self) -> httpx2.Response:
        """Run the app until it starts the response; return the response with a streaming body.

        Raises:
            ASGITimeoutError: no response started within the timeout (the app is then disconnected).
            Exception: whatever the app raised before starting the response, if the client
                raises server exceptions; otherwise the response is a 500.
        """
        self.spawn()
        try:
            await checkpoint()  # the app's first step comes first (see WholeRead._wait_settled)
            await self.head_event.wait(self.timeout)
        except cancelled_exc_class():
            self.disconnect_in_background("the task awaiting the response was cancelled")
            raise
        if self.producer_error is not None:
            await self.fail_with_producer()
        if not self.head_event.is_set():
            raise await self.timed_out_after(started=False)
        if self.protocol.state is HTTPState.START:
            return unanswered(self)
        return response_of(self, ResponseBody(self))

    def _taken(self, chunk: bytes) -> bytes:
        self._buffered -= len(chunk)
        if self._space is not None and self._buffered <= BODY_BUFFER:
            self._space.set()
            self._space = None
        return chunk

    async def next_chunk(self) -> bytes | None:
        """The next body chunk the app sent (waiting for one if there is none yet).

        Each chunk is one ``http.response.body`` message, as a server writes it and an
        HTTP client reads it, even when several wait unread. None once the body is
        complete (and, by default, once the app has returned).
        """
        item = await self._get()
        if item is _BODY_END:
            self.body_ended = True
            if not self.wait_for_app:
                self.orphan()
                return None
            item = await self._get()
        if not isinstance(item, bytes):
            self.end()
            return None
        return self._taken(item)

    def take_ready(self) -> list[bytes] | None:
        """The body's chunks, if the app has already sent all of it; else None.

        Lets a caller on another thread skip round trips when the app has already done
        its part. Nothing is taken from a response still in progress, so that its body
        stays bounded by :data:`BODY_BUFFER` (a streaming read takes it chunk by chunk).
        A failure of the app is left in the queue, for the read that observes it
        (:meth:`next_chunk`) to raise.
        """
        try:
            last = self.queue.peek_last()
        except Empty:
            return None
        if not (last is APP_DONE or (last is _BODY_END and not self.wait_for_app)) or self.failed():
            return None
        chunks: list[bytes] = []
        while True:
            item = self.queue.get_nowait()
            if isinstance(item, bytes):
                chunks.append(self._taken(item))
            elif item is _BODY_END:
                self.body_ended = True
                if not self.wait_for_app:
                    self.orphan()
                    return chunks
            else:
                self.end()
                return chunks

    async def _get(self) -> Any:
        try:
            return await self.queue.get(self.timeout)
        except TimeoutError:
            raise await self.timed_out_after(started=True) from None


def open_exchange(
    request: httpx2.Request, config: ClientConfig, registry: Registry, *, sync_body: bool = False, whole: bool = False
) -> WholeExchange | StreamedExchange:
    """The exchange for ``request``: read whole when the test reads the whole response
    (``whole``) and its end waits for the app (``wait_for_app``), else streamed.

    ``sync_body`` says a streamed request body is a sync iterator (the sync client's).
    """
    if whole and waits_for_app(request, config):
        return WholeExchange(request, config, registry, sync_body=sync_body)
    return StreamedExchange(request, config, registry, sync_body=sync_body)
