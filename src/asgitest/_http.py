"""One HTTP exchange between the test and the app: the app's side, and what both reads share.

The app runs as an app task. How the test reads the response is the exchange's read
strategy (:mod:`._http_reads`): a response read whole (every call but ``stream()``) is
collected as the app sends it and returned once the app has returned; a streamed one is
returned as soon as the app sent ``http.response.start``, its body reaching the test
through a bounded queue. By default the body ends only once the app coroutine has
returned, so a test that reads the whole body (every plain ``client.get``) has waited for
the app's background tasks, as with Starlette's TestClient, and sees their exceptions;
with ``wait_for_app=False`` (per client, or per request through the ``wait_for_app``
request extension) the body ends with the app's last chunk and the app keeps running:
``wait_idle()`` waits for it and re-raises what it raised.

The request body reaches the app as it is produced (:mod:`._request_body`).

Leaving a response before its body is complete is a client disconnect: the app's
``receive()`` returns ``http.disconnect``, its sends raise ``ClientDisconnected``,
and it is cancelled, with an :class:`AppCancelledWarning`, if it has not returned
within the grace period.
"""

from __future__ import annotations

import time
from typing import Any

import httpx2

from ._backend import cancelled_exc_class
from ._config import ClientConfig
from ._connection import Connection
from ._errors import AppCancelledWarning, ASGITimeoutError, is_disconnect_exit
from ._extensions import deliver
from ._protocol import HTTPProtocol, HTTPState
from ._registry import Registry
from ._request_body import RequestBody
from ._runner import spawn
from ._scope import http_scope
from ._types import Message, Scope, message_type
from ._wait import Flag

__all__ = ["HTTPExchange", "read_timeout", "waits_for_app"]

_DISCONNECT = {"type": "http.disconnect"}
#: The messages of extensions that :func:`~asgitest._extensions.deliver` acts on.
_EXTENSIONS = frozenset(
    {"http.response.early_hint", "http.response.push", "http.response.pathsend", "http.response.zerocopysend"}
)
_AFTER_DISCONNECT = (
    "the client disconnected ({}). A server would let it run on: stop when receive() returns "
    "http.disconnect (Starlette: await request.is_disconnected()) or when a send raises."
)


def read_timeout(request: httpx2.Request, default: float | None) -> float | None:
    """The per-request wait bound: httpx's ``read`` timeout if the request carries one."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict) and "read" in timeout:
        value = timeout["read"]
        return None if value is None else float(value)
    return default


def waits_for_app(request: httpx2.Request, config: ClientConfig) -> bool:
    """Whether the response's end waits for the app to return: the request's
    ``wait_for_app`` extension if it has one, else the client's setting."""
    return bool(request.extensions.get("wait_for_app", config.wait_for_app))


class HTTPExchange(Connection):
    """The state of one request/response, shared by the app side and the test side; how the
    test reads the response is a subclass's (:mod:`._http_reads`)."""

    protocol: HTTPProtocol

    def __init__(
        self,
        request: httpx2.Request,
        config: ClientConfig,
        registry: Registry,
        *,
        sync_body: bool = False,
    ) -> None:
        where = f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"
        self.number = registry.number()
        transcript = config.transcript(f"{where} (connection #{self.number} of {config.label})")
        head = request.method == "HEAD"
        offered = config.http_extensions
        protocol = HTTPProtocol(where, strict=config.strict, transcript=transcript, head=head, offered=offered)
        super().__init__(where, config, registry, protocol)
        self.request = request
        self.began = time.perf_counter()  # for the response's ``elapsed``
        self.timeout = read_timeout(request, config.timeout)
        self.wait_for_app = waits_for_app(request, config)
        self.settled = Flag()  # the app has returned, or the request body's producer failed
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.debug: dict[str, Any] | None = None
        self.early_hints: list[list[bytes]] = []  # the links of each early hint, in order
        self.pushes: list[dict[str, Any]] = []  # the path and headers of each server push
        self.head_event = Flag()
        self.complete_event = Flag()
        self.scope: Scope = {}
        self._sync_body = sync_body
        self._request_body: RequestBody | None = None
        #: What the test's request body iterator raised; re-raised to the test.
        self.producer_error: Exception | None = None
        self.body_ended = False  # the test has seen the end of the body
        self._orphaned = False  # the test will read no more: the app's outcome goes to the registry
        self._cancel_notice: str | None = None  # what to warn if asgitest cancels the app

    # -- what the way the test reads does (see _http_reads) -------------------------------

    async def response(self) -> httpx2.Response:
        """Run the app; return its response (whole, or as it starts)."""
        raise NotImplementedError

    def sent(self) -> None:
        """A message of the app's went through the checks."""

    async def body(self, chunk: bytes, state: HTTPState) -> None:
        """The app sent ``chunk`` of its body; the response is now in ``state``."""
        raise NotImplementedError

    def app_finished(self) -> None:
        """The app task has finished (on the loop)."""

    def read_settled(self) -> None:
        """The app returned, or the request body's producer failed (on the loop)."""

    def read_disconnected(self) -> None:
        """The client went away (on the loop)."""

    # -- the app's side -------------------------------------------------------------------

    async def receive(self) -> Message:
        if not self.protocol.refusing:
            body = self._request_body
            if body is None:
                body = self._request_body = RequestBody(self.request, sync=self._sync_body)
            try:
                message = await body.take()
            except Exception as exc:  # the test's body producer failed: the client goes away
                self.producer_error = exc
                self._mark_disconnected(f"the request body's producer raised {type(exc).__name__}")
                self.head_event.set()  # wakes the test, to raise it
                self._settled()
            else:
                if message is not None:
                    self.protocol.app_received(message)
                    return message
            await self.complete_event.wait()
        self.protocol.app_received(_DISCONNECT)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        protocol = self.protocol
        if protocol.disconnected_at is not None:
            raise self.refused(
                message,
                f"the app sent {message_type(message)!r} on {self.where} ({self.config.label}) after "
                f"the client disconnected ({protocol.disconnect_reason}, "
                f"{protocol.transcript.clock() - protocol.disconnected_at:.3f}s ago)",
            )
        kind = self.checked(message)
        self.sent()
        if kind == "http.response.body":
            chunk = message.get("body", b"")
            await self.body(bytes(chunk) if chunk and self.request.method != "HEAD" else b"", self.protocol.state)
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
        elif kind in _EXTENSIONS:
            await deliver(self, kind, message)
        # else: a message the protocol drops (a push promise nobody offered, without strict)

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
        self.app_finished()
        if self.task.cancelled and self._cancel_notice is not None:
            # Queued before anything that waited for the app resumes, so no later call misses it.
            self.registry.notice(AppCancelledWarning, self._cancel_notice)
        if self._orphaned:
            self.registry.ended(self)
            self._report_unobserved()
        self._settled()

    def _settled(self) -> None:
        self.settled.set()
        self.read_settled()

    def _report_unobserved(self) -> None:
        """The app finished after the test stopped reading: keep its failure for wait_idle/close."""
        assert self.task is not None
        if self.protocol.refusing:  # returning early is fine now; a disconnect exit too
            error = self.task.exception
            if error is not None and self.config.raise_server_exceptions and not is_disconnect_exit(error):
                self.registry.unobserved(error)
            return
        failure = self.app_failure()
        if failure is not None:
            self.registry.unobserved(failure)

    def orphan(self) -> None:
        """The test reads no more of this exchange; what the app still does is the registry's."""
        if self._orphaned:
            return
        self._orphaned = True
        assert self.task is not None
        if self.task.finished:
            self.registry.ended(self)
            self._report_unobserved()

    # -- the test's side ------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the app."""
        self.scope = http_scope(self.request, self.config)
        self.transcript.opened(self.scope)
        self.task = spawn(self.where, self._run_app, self._app_done, owner=self.registry.adopt)
        self.registry.started(self.task)
        self.registry.opened(self)

    # -- ending ---------------------------------------------------------------------------

    def _mark_disconnected(self, reason: str) -> None:
        if self.protocol.client_disconnects(reason):
            self.complete_event.set()  # wakes a receive() waiting for the response to complete
            if self._request_body is not None:  # or one waiting for the test to produce the body
                self._request_body.interrupt()
            self.read_disconnected()  # and a send waiting for the test to read
        self.orphan()

    async def disconnect(self, reason: str, *, warn: bool = True) -> str:
        """The client goes away: deliver ``http.disconnect``; cancel the app after the grace period.

        Returns what became of the app, for messages. If the app had to be cancelled
        and ``warn`` is true, an :class:`AppCancelledWarning` is queued on the registry
        for the test's thread (a timeout error says it itself).
        """
        if self.task is None or self.task.finished:
            self.orphan()
            return "the app had already returned"
        self._mark_disconnected(reason)
        try:
            cancelled = await self._settle(warn=warn)
        except cancelled_exc_class():
            self.disconnect_in_background(reason)
            raise
        if cancelled:
            return (
                f"the app was sent http.disconnect and, still running after the "
                f"{self.config.grace_period}s grace period, cancelled"
            )
        return "the app was sent http.disconnect and returned"

    async def _settle(self, *, warn: bool) -> bool:
        """Give the disconnected app its grace period; True if it had to be cancelled."""
        return not await self._end_app(_AFTER_DISCONNECT.format(self.protocol.disconnect_reason) if warn else None)

    async def _end_app(self, after: str | None) -> bool:
        """Give the app the grace period to return, then cancel it; True if it returned by itself.
        ``after``: what it was still running after, for the warning that it was cancelled
        (queued as the app task ends, before anything that waited for it resumes)."""
        assert self.task is not None
        self._cancel_notice = after and (
            f"{self.where} ({self.config.label}): the app was cancelled: "
            f"it was still running {self.config.grace_period}s after {after}"
        )
        return await self.task.finish(self.config.grace_period)

    def disconnect_in_background(self, reason: str) -> None:
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
        self.orphan()
        await self._end_app(f"its response was complete, when {reason}.")
