"""One WebSocket connection: what both sides share, and the app's side of it.

The app is given the ``receive``/``send`` of a small :class:`AppSide` object that the
test's session does not hold, so once a session has closed, the only references left to
that object are the app's; a strict client's registry watches it through a weak
reference and reports it if it outlives the client.
"""

from __future__ import annotations

from collections.abc import Callable

from . import _report
from ._config import ClientConfig
from ._connection import APP_DONE, Connection
from ._errors import (
    ASGITimeoutError,
    ClientClosedError,
    ClientDisconnected,
    StaleConnectionWarning,
    WebSocketDenialResponse,
    WebSocketDisconnect,
    is_disconnect_exit,
)
from ._protocol import WebSocketProtocol, WebSocketState
from ._queue import Empty, MessageQueue
from ._registry import Registry
from ._types import Message, Scope, message_type
from ._websocket_messages import check_message

__all__ = ["ABNORMAL_CLOSURE", "AppSide", "WebSocketConnection", "stems_from"]

#: The close code of a connection that ended without a close frame (RFC 6455, 7.1.5).
ABNORMAL_CLOSURE = 1006


class WebSocketConnection(Connection):
    """State shared by the two sides of one WebSocket."""

    protocol: WebSocketProtocol

    def __init__(self, scope: Scope, config: ClientConfig, registry: Registry) -> None:
        path = scope["path"]
        where = f"WebSocket {path} (connection #{registry.number()} of {config.label})"
        protocol = WebSocketProtocol(
            where,
            strict=config.strict,
            transcript=config.transcript(where),
            offered=scope["subprotocols"],
            denials="websocket.http.response" in config.websocket_extensions,
        )
        super().__init__(where, config, registry, protocol)
        self.scope = scope
        self.path = path
        self.transcript.opened(scope)
        self.to_app: MessageQueue[Message] = MessageQueue()
        self.to_test: MessageQueue[Message] = MessageQueue()
        self.connected_sent = False
        self.closed_in: str | None = None  # the test running when the test side closed
        self.send_reported = False  # a send after the close is reported once per connection
        #: The close the test reads, once the app closed: its own, or the one a server sends.
        self.app_close: Message | None = None

    @property
    def test_closed(self) -> bool:
        """Whether the test closed (or dropped) the connection."""
        return self.protocol.closed_by_test is not None

    @property
    def over(self) -> bool:
        """Whether nothing more will come to the test: either side closed."""
        return self.app_close is not None or self.protocol.closed_by_test is not None

    def app_returned(self) -> None:
        """The app task has finished (called on the loop)."""
        self.protocol.app_finished()
        self.to_test.put(APP_DONE)

    def close_by_test(self, code: int, reason: str | None, how: str) -> None:
        """The test closes: the app's next ``receive()`` gives the ``websocket.disconnect``."""
        self.closed_in = _report.current_test()
        self.to_app.put(self.protocol.test_closes(code, reason, how))

    async def end_after_close(self, *, warn: bool) -> bool:
        """Give the app the grace period to return after the close, then cancel it; True if
        it ended cleanly (a reference to its side left afterwards is then the app's own).

        A server would let it run on; Starlette's client cancels it at once, and tests
        rely on that (an app awaiting something else than ``receive()`` is gone once the
        session's ``with`` block is). With ``strict``, a cancellation is a warning.
        """
        assert self.task is not None
        cancelled = (
            f"{self.where}: the app was cancelled: it was still running {self.config.grace_period}s "
            f"after the connection was {self.protocol.closed_how}. A server would let it run on: "
            "return when receive() gives websocket.disconnect (Starlette: WebSocketDisconnect is raised)."
        )
        await self.end_app(self.config.grace_period, cancelled if warn else None)
        # An exception's traceback holds the app's frames, and they hold the app side.
        error = self.task.exception
        return error is None or is_disconnect_exit(error)

    def app_error(self) -> BaseException | None:
        """What the session raises of the app: the first rule it broke, or what it raised.

        None if nothing, if the client does not raise server exceptions, or if the error
        only stems from a send refused after the test's close: what else the app lets
        escape after the close is raised at the session's exit, as Starlette's client
        raises it (FastAPI's tests expect its ``WebSocketDisconnect`` there); a send after
        the close is refused with :class:`ClientDisconnected`, which Starlette's client,
        that cancels the app at once, never gets to.
        """
        error = self.violation or (self.task.exception if self.task is not None else None)
        if error is None or not self.config.raise_server_exceptions:
            return None
        if self.protocol.closed_by_test is not None and stems_from(error, ClientDisconnected):
            return None
        return error

    def describe_close(self) -> str:
        return self.protocol.describe_close()

    def check_send(self, message: Message) -> None:
        """Raise if ``message`` is no message to send (``TypeError``), or if none can be sent
        any more: the test or the app has closed the connection. Only reads state: the sync
        session calls it on the test's thread, then hands :meth:`deliver` to the loop."""
        check_message(message)
        if self.test_closed:
            raise ClientClosedError(f"{self.where} was {self.describe_close()}; open a new session")
        if self.app_close is not None or self.protocol.state is WebSocketState.CLOSED:
            close = self.app_close or {"code": 1000}
            raise WebSocketDisconnect(close.get("code", 1000), close.get("reason"))

    def deliver(self, message: Message) -> None:
        """Queue ``message`` for the app's ``receive()``; never blocks (call on the loop)."""
        self.to_app.put(message)

    def receive_nowait(self) -> Message | None:
        """The next data message if the app has already sent it, else None; never waits (the
        sync session takes it without a hand-off). Closes and the app's end are left to the
        session's ``receive()``, which interprets them."""
        if self.over:
            return None
        try:
            message = self.to_test.peek()
        except Empty:
            return None
        return self.to_test.get_nowait() if message["type"] == "websocket.send" else None

    def call_on_message(self, wake: Callable[[], None]) -> bool:
        """For a waiter on another thread: have ``wake`` called (on the loop) when the app
        sends its next message. False if there is nothing to wait for: a message is there,
        or the connection is over."""
        return not self.over and self.to_test.call_on_put(wake)

    def ended_by(self, message: Message) -> Message:
        """The close the test reads from now on, for the app's close or its end (``APP_DONE``):
        the app's own, 1011 if it raised, 1006 if it returned without closing."""
        if message["type"] == "websocket.close":
            code, reason = message.get("code", 1000), message.get("reason") or ""
        elif self.task is not None and self.task.exception is not None:
            code, reason = 1011, "the app raised an exception"
        else:
            code, reason = 1006, "the app returned without closing the WebSocket"
        self.app_close = {"type": "websocket.close", "code": code, "reason": reason}
        return dict(self.app_close)

    async def next_message(self, timeout: float | None, what: str) -> Message:
        """The next message the app sent (or :data:`APP_DONE`), within ``timeout``; ``what``
        the test waits for, for the timeout's error."""
        try:
            return await self.to_test.get(timeout)
        except TimeoutError:
            raise self.timeout_error(timeout, what) from None

    def timeout_error(self, timeout: float | None, what: str) -> ASGITimeoutError:
        """The error of a wait for ``what`` that ran out after ``timeout`` seconds."""
        activity = self.activity()
        self.transcript.note(f"timed out waiting for {what}")
        return self.timed_out(f"{self.where}: timed out after {timeout}s waiting for {what}", activity)

    async def read_denial(self, start: Message, timeout: float | None) -> WebSocketDenialResponse:
        """The denial response that ``start`` begins, once its body is complete (each part
        within ``timeout``) or the app has returned."""
        body = bytearray()
        while True:
            message = await self.next_message(timeout, "the body of the app's denial response")
            if message["type"] != "websocket.http.response.body":
                break  # the app returned (or broke a rule) before the end of its body
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = [(bytes(name), bytes(value)) for name, value in start.get("headers", ())]  # bytearrays too
        return WebSocketDenialResponse(start["status"], headers=headers, content=bytes(body))


class AppSide:
    """The app's ``receive`` and ``send``; nothing on the test's side references it."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: WebSocketConnection) -> None:
        self.conn = conn

    async def receive(self) -> Message:
        conn = self.conn
        if not conn.connected_sent:
            conn.connected_sent = True
            message: Message = {"type": "websocket.connect"}
        elif conn.protocol.closed_by_test is not None and not len(conn.to_app):
            message = dict(conn.protocol.closed_by_test)
        else:
            message = await conn.to_app.get(None)
        conn.protocol.app_received(message)
        return message

    async def send(self, message: Message) -> None:
        conn = self.conn
        if conn.protocol.refusing:
            closed_in = f" in {conn.closed_in}" if conn.closed_in else ""
            error = (
                f"the app sent {message_type(message)!r} on {conn.where}, which was {conn.describe_close()}"
                f"{closed_in}. The app probably keeps closed connections (a list or set of sockets, "
                "app.state): remove a socket from it when receive() returns websocket.disconnect "
                "(Starlette/FastAPI: raises WebSocketDisconnect)."
            )
            if not conn.config.strict and not conn.send_reported:  # strict: a warning at close
                conn.send_reported = True
                _report.record(StaleConnectionWarning, error)
            raise conn.refused(message, error)
        conn.checked(message)
        conn.to_test.put(message)

    async def run(self) -> None:
        await self.conn.config.app(self.conn.scope, self.receive, self.send)


def stems_from(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` is a ``kind``, or was raised from one or while handling one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
