"""WebSocket sessions: the test's side (:class:`AsyncWebSocketSession`) and the app's side.

Messages from the app to the test are queued without bound, so an app that
broadcasts from a background task never waits for the test. When the test
closes a session the app receives ``websocket.disconnect`` with the code, gets
the client's grace period to finish its cleanup, and is cancelled only after
it. Once the app has received that close (or has returned), a send on the session
raises :class:`ClientDisconnected` in the app, as a production server raises an
``OSError``; the message names the session, the test that closed it and the likely
cause. What the app lets escape after the close is raised at the session's exit, as
Starlette's client raises it, unless it only stems from such a refused send.

The app is given the ``receive``/``send`` of a small :class:`AppSide` object
that the test's session does not hold, so once a session has closed, the only
references left to that object are the app's; a strict client's registry watches it
through a weak reference and reports it if it outlives the client.
"""

from __future__ import annotations

import weakref
from types import TracebackType

import httpx2

from ._backend import checkpoint
from ._config import ClientConfig, check_timeout, check_window
from ._connection import APP_DONE
from ._errors import (
    ASGITimeoutError,
    ClientClosedError,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)
from ._registry import Notice, Registry, emit
from ._runner import AppTask, spawn
from ._scope import websocket_scope
from ._types import Message
from ._websocket_connection import ABNORMAL_CLOSURE, AppSide, WebSocketConnection
from ._websocket_messages import AsyncSessionMethods, check_close, unexpected

__all__ = ["AsyncWebSocketSession"]

_DENIAL_START = "websocket.http.response.start"
#: What ends a session for the test: the app's close, or its end.
_ENDS = frozenset({"websocket.close", APP_DONE["type"]})
_HANDSHAKE_ENDS = {
    "websocket.close": "closed by the app during the handshake",
    _DENIAL_START: "denied by the app",
}


class AsyncWebSocketSession(AsyncSessionMethods):
    """A WebSocket session with the app, used as an async context manager.

    Entering performs the handshake: it returns once the app accepted, and raises
    :class:`WebSocketDisconnect` if the app closed instead, or
    :class:`WebSocketDenialResponse` if it answered with an HTTP response (or
    returned without accepting: a server answers 403). Leaving closes the session
    with code 1000 unless it was closed already, and re-raises what the app raised.

    Every ``receive*`` waits at most ``timeout`` seconds (the client's default when
    None) and raises :class:`ASGITimeoutError` after it; the session stays usable.
    """

    accepted_subprotocol: str | None
    extra_headers: list[tuple[bytes, bytes]] | None

    def __init__(
        self, request: httpx2.Request, config: ClientConfig, registry: Registry, timeout: float | None
    ) -> None:
        self._request = request
        #: The scope the app receives (the same dict: what the app writes into it shows here).
        self.scope = websocket_scope(request, config)
        self._config = config
        self._registry = registry
        self._timeout = timeout
        self._conn: WebSocketConnection | None = None
        self._app_side: weakref.ref[AppSide] | None = None
        self._task: AppTask | None = None
        self.accepted_subprotocol = None
        self.extra_headers = None

    @property
    def where(self) -> str:
        """The connection, as messages name it (known once the session is entered)."""
        return self._require().where

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncWebSocketSession:
        await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        emit(await self._exit_session(exc), stacklevel=2)

    async def _exit_session(self, exc: BaseException | None) -> list[Notice]:
        """Leave the session (closing it, or aborting it when ``exc`` is in flight); return the
        warnings to emit on the test's thread."""
        if exc is None:
            return await self._close_session(1000, None)
        # The test is failing already: its own exception matters, not an app cancelled
        # after the grace period because of it.
        await self._abort("the test left the session with an exception", warn=False)
        return []

    async def _connect(self) -> None:
        """Perform the handshake (see the class docstring)."""
        if self._conn is not None:
            raise ClientClosedError("this WebSocket session was already opened; open a new one")
        conn = self._conn = WebSocketConnection(self.scope, self._config, self._registry)
        app_side = AppSide(conn)
        self._task = conn.task = spawn(conn.where, app_side.run, conn.app_returned, owner=self._registry.adopt)
        self._registry.opened(self)
        self._app_side = weakref.ref(app_side)
        del app_side
        try:
            await checkpoint()  # the app's first step comes first: its accept is then queued
            message = await conn.next_message(self._timeout, "the app to accept the WebSocket")
            kind = message["type"]
            denial = await conn.read_denial(message, self._timeout) if kind == _DENIAL_START else None
        except ASGITimeoutError:  # the accept, or a part of the denial response, came late
            await self._abort("the handshake timed out", warn=False)  # the error says it all
            raise
        if kind == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            headers = message.get("headers")
            self.extra_headers = None if headers is None else [(bytes(k), bytes(v)) for k, v in headers]
            return
        # The connection ends with the handshake; as under a server, an app still running
        # receives websocket.disconnect (1006: no close frame was ever exchanged).
        self._mark_closed(ABNORMAL_CLOSURE, None, _HANDSHAKE_ENDS.get(kind, "left without an accept by the app"))
        await self._end_app()
        if kind == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        self._raise_app_error()  # a rule the denial broke (a second start), or the app's failure
        raise denial or WebSocketDenialResponse(403)  # returning without accepting: a server's 403

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``.

        Waits for the app to return (up to the grace period, then cancels it with an
        :class:`AppCancelledWarning`) and re-raises the app's exception, if any (a
        disconnect exception the app lets escape after this close is its normal way
        out, not an error).
        """
        emit(await self._close_session(code, reason), stacklevel=2)

    async def drop(self) -> None:
        """End the connection as a lost network would: without a close frame.

        The app's ``receive()`` gives ``websocket.disconnect`` with code 1006 (abnormal
        closure), and its sends raise :class:`ClientDisconnected`; then, as after
        :meth:`close`, the app gets the grace period to return, what it raised is raised
        here, and the session is closed.
        """
        emit(await self._drop_session(), stacklevel=2)

    async def _drop_session(self) -> list[Notice]:
        """:meth:`drop`, returning the warnings to emit on the test's thread instead."""
        return await self._close_session(ABNORMAL_CLOSURE, None, "dropped by the test (no close frame)")

    async def _close_session(self, code: int, reason: str | None, how: str | None = None) -> list[Notice]:
        """:meth:`close`, returning the warnings to emit on the test's thread instead."""
        check_close(code, reason)
        if self._require().test_closed:
            return []
        self._mark_closed(code, reason, how or f"closed by the test with code {code}")
        await self._end_app()
        self._raise_app_error()
        return self._registry.take_notices()

    def _left_open(self) -> str | None:
        """What the test left open here, for the leak report at close; None once the session is closed."""
        conn = self._require()
        return None if conn.test_closed else f"WebSocket session to {conn.path}"

    async def _abort(self, reason: str, *, warn: bool = True) -> None:
        """Close without raising: the client is closing, or the test is already failing."""
        if not self._require().test_closed:
            self._mark_closed(1000, None, f"closed because {reason}")
            await self._end_app(warn=warn)

    def _mark_closed(self, code: int, reason: str | None, how: str) -> None:
        self._require().close_by_test(code, reason, how)

    async def _end_app(self, *, warn: bool = True) -> None:
        """Give the app the grace period to return after the close, then cancel it (see
        :meth:`WebSocketConnection.end_after_close`); then watch what the app keeps."""
        conn = self._require()
        assert self._app_side is not None
        clean = await conn.end_after_close(warn=warn)
        self._registry.ended(self)
        if clean:
            self._registry.watch(self._app_side, conn.path, conn.transcript)

    def _raise_app_error(self) -> None:
        error = self._require().app_error()
        if error is not None:
            raise error

    # -- sending --------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Deliver a raw ASGI message to the app's ``receive()``."""
        conn = self._require()
        conn.check_send(message)
        conn.deliver(message)
        # Let the app take its turn: a reply sent at once is then waiting for the next receive.
        await checkpoint()

    # -- receiving ------------------------------------------------------------------------

    def _bound(self, timeout: float | None) -> float | None:
        """The wait a ``receive*`` call asks for: ``timeout`` checked, else the session's default."""
        return self._timeout if timeout is None else check_timeout(timeout, "timeout")

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send`` or ``websocket.close``).

        Once the app has closed (or returned, or failed), every further call returns
        the close again: what a server sends, 1000 after the app's own close, 1006
        when the app returned without closing, 1011 when it raised and the client
        does not raise server exceptions.
        """
        conn = self._require()
        message = conn.receive_nowait()  # a message the app already sent: no wait to set up
        if message is not None:
            return message
        if conn.app_close is not None:
            return dict(conn.app_close)
        if conn.test_closed:
            raise ClientClosedError(f"{conn.where} was {conn.describe_close()}; nothing more will arrive")
        message = await conn.next_message(self._bound(timeout), "a message from the app")
        kind = message["type"]
        if kind == APP_DONE["type"]:
            self._raise_app_error()
        return conn.ended_by(message) if kind in _ENDS else message

    async def expect_nothing(self, within: float) -> None:
        """Assert that the app sends nothing, and does not close, for ``within`` seconds.

        Returns once that time has passed in silence. A message (or a close) that comes
        instead raises :class:`UnexpectedMessage`, and stays queued: the next
        ``receive*()`` returns it. An app that fails meanwhile raises its exception, as
        ``receive()`` would.
        """
        window = check_window(within, "within")
        conn = self._require()
        if not conn.over:
            if not await conn.to_test.wait_for_item(window):
                return
            message = conn.to_test.peek()
            if message["type"] == "websocket.send":
                raise unexpected(conn.where, message, window, conn.transcript.render())
        # The app closed or returned (receive() says how, and returns it again next time),
        # or the test closed (receive() raises).
        raise unexpected(conn.where, await self.receive(), window, conn.transcript.render())

    def _require(self) -> WebSocketConnection:
        if self._conn is None:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        return self._conn
