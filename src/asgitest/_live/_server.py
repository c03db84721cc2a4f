"""Live mode: the same tests against the app served by uvicorn, over real sockets.

:class:`LiveServer` runs the app on uvicorn in a thread, bound to 127.0.0.1 on a
port the OS picks (a socket asgitest binds itself: no port races under
``pytest -n``), waits until it serves, lets its log go to ``logging`` (pytest
captures it), and on stop re-raises in the test the first exception the app
raised while serving. Its clients are httpx2 clients with httpx2's own
transports and WebSocket support, with the in-process clients' API:
``websocket_connect`` gives sessions with the same methods and exceptions.

Needs the ``live`` extra (uvicorn, wsproto).
"""

from __future__ import annotations

import math
import socket
import threading
from typing import Any

import anyio

from .._backend import checkpoint
from .._config import SUITE_DEFAULT, SuiteDefault, as_asgi3, check_timeout, suite_defaults
from .._errors import (
    ASGIProtocolError,
    ASGITimeoutError,
    LifespanFailed,
    is_disconnect_exit,
)
from .._types import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
)
from ._checks import state_machine
from ._clients import AsyncLiveTestClient, LiveTestClient

__all__ = ["SHUTDOWN_GRACE", "START_TIMEOUT", "LiveServer"]

#: What the app receives when its client left.
_DISCONNECTS = frozenset({"http.disconnect", "websocket.disconnect"})

#: Seconds the server gets to start serving, and to stop.
START_TIMEOUT = 10.0
#: Seconds the app's connections get to finish when the server stops, before uvicorn
#: cancels them (an endless stream whose app ignores the disconnect would keep it forever).
SHUTDOWN_GRACE = 1.0


class LiveServer:
    """The app served by uvicorn on 127.0.0.1, for the length of a ``with`` block.

    ``timeout`` bounds the app's answer to ``lifespan.startup`` (the suite's timeout when
    not given); ``strict`` is the clients' ``strict`` for the checks the server runs on the
    app's messages (the suite's when not given). Other keywords are uvicorn's.

    Attributes:
        url: the server's base URL, ``http://127.0.0.1:<port>``.
        errors: the exceptions the app raised while serving, oldest first.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout: float | SuiteDefault | None = SUITE_DEFAULT,
        strict: bool | None = None,
        **uvicorn_options: Any,
    ) -> None:
        self.app = as_asgi3(app)
        self.options = uvicorn_options
        #: Whether every check is an error (see the clients' ``strict``): the suite's unless given.
        self.strict = suite_defaults().strict if strict is None else bool(strict)
        #: How long the app may take to answer lifespan.startup: the suite's timeout unless given.
        self.startup_timeout = (
            suite_defaults().timeout if isinstance(timeout, SuiteDefault) else check_timeout(timeout, "timeout")
        )
        self.errors: list[BaseException] = []
        #: The scope of each WebSocket connection the app served, by the client's address.
        self.websocket_scopes: dict[tuple[str, int], Scope] = {}
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failure: list[BaseException] = []
        self._startup_asked = self._startup_answered = False

    async def _recording(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] == "websocket" and scope.get("client"):
            self.websocket_scopes[tuple(scope["client"])] = scope  # for the session's .scope

        left = False  # whether this connection's client really left
        machine = state_machine(scope, strict=self.strict)  # the in-process client's checks
        broken: list[ASGIProtocolError] = []  # the first rule the app broke, if any

        async def receive_and_watch() -> Message:
            nonlocal left
            message = await receive()
            left = left or message.get("type") in _DISCONNECTS
            machine.app_received(message)
            return message

        async def send_and_yield(message: Message) -> None:
            nonlocal left
            try:
                machine.app_sends(message)
            except ASGIProtocolError as exc:
                broken.append(exc)
                raise
            try:
                await send(message)
            except OSError:  # uvicorn's ClientDisconnected: the client is gone
                left = True
                raise
            # uvicorn's send() returns at once after the client left, without yielding: an app
            # that loops on send() alone would hold the server's loop for ever. Yield once.
            await checkpoint()

        try:
            await self.app(scope, receive_and_watch, send_and_yield)
        except Exception as exc:
            # A broken rule first, whatever the app made of it; then a disconnect is the app's
            # way out once its own client left; from anywhere else (a broadcast to another,
            # closed, socket) it is an error, as in-process.
            if broken or not (left and is_disconnect_exit(exc)):
                self.errors.append(broken[0] if broken else exc)
            raise
        returned = broken[0] if broken else machine.app_returned()  # a rule the app swallowed, or broke by returning
        if returned is not None and not left:
            self.errors.append(returned)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's lifespan; a startup failure is kept for :meth:`start` to raise, as in-process.

        As under uvicorn's ``lifespan="auto"``, an app that raises before it receives, or
        that answers with a message of another scope, has no lifespan: the server goes on.
        """
        supported = False
        watch = anyio.CancelScope()  # around the wait for the startup's answer

        async def receiving() -> Message:
            nonlocal supported
            supported = self._startup_asked = True
            return await receive()

        async def sending(message: Message) -> None:
            nonlocal supported
            self._startup_answered = True
            watch.cancel()
            kind = str(message.get("type", ""))
            supported = supported and kind.startswith("lifespan.")
            if kind == "lifespan.startup.failed":
                reason = message.get("message") or "(no message)"
                self._failure.append(
                    LifespanFailed(f"lifespan of the live server at {self.url}: startup failed: {reason}")
                )
            await send(message)

        async with anyio.create_task_group() as group:
            group.start_soon(self._bound_startup, watch, send, group.cancel_scope)
            try:
                await self.app(scope, receiving, sending)
            except Exception as exc:
                if supported:  # a failure of the app's own lifespan
                    self._failure.append(exc)
                raise
            finally:
                watch.cancel()

    async def _bound_startup(self, watch: anyio.CancelScope, send: Send, app: anyio.CancelScope) -> None:
        """Fail the startup of an app that does not answer it within :attr:`startup_timeout`:
        uvicorn would wait for ever, and its thread could not be stopped."""
        with watch:
            await anyio.sleep(math.inf if self.startup_timeout is None else self.startup_timeout)
            text = f"the app did not answer lifespan.startup within {self.startup_timeout}s"
            self._failure.append(ASGITimeoutError(f"lifespan of the live server at {self.url}: {text}"))
            self._startup_answered = True
            await send({"type": "lifespan.startup.failed", "message": text})
            app.cancel()

    def start(self) -> LiveServer:
        """Start serving; return once the server accepts connections."""
        try:
            import uvicorn
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise ImportError("live mode needs uvicorn and wsproto: pip install 'asgitest[live]'") from None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        options: dict[str, Any] = {"lifespan": "auto", "log_config": None, "ws": "wsproto", "http": "h11"}
        options["interface"] = "asgi3"
        options["timeout_graceful_shutdown"] = SHUTDOWN_GRACE
        options.update(self.options)
        config = uvicorn.Config(self._recording, **options)
        started = threading.Event()

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                started.set()

        server = self._server = Server(config)

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # pragma: no cover - uvicorn reports its own failures
                self._failure.append(exc)
            finally:
                sock.close()
                started.set()

        self._thread = threading.Thread(target=serve, name=f"asgitest live server {self.url}", daemon=True)
        self._thread.start()
        bound = None if self.startup_timeout is None else self.startup_timeout + START_TIMEOUT
        if not started.wait(bound) or not server.started:
            self.stop(raise_errors=False)
            if self._failure and not isinstance(self._failure[0], SystemExit):
                raise self._failure[0]
            raise RuntimeError(f"the live server at {self.url} did not start (see its log)")
        if self._failure:  # uvicorn took the app's startup exception for "lifespan unsupported"
            self.stop(raise_errors=False)
            raise self._failure[0]
        return self

    def stop(self, *, raise_errors: bool = True) -> None:
        """Stop the server (running the lifespan shutdown); then re-raise the app's first exception."""
        if self._thread is not None:
            self._server.should_exit = True
            thread, self._thread = self._thread, None
            thread.join(START_TIMEOUT)
            if thread.is_alive():
                raise RuntimeError(
                    f"the live server at {self.url} did not stop within {START_TIMEOUT}s: "
                    "an app task blocks the server's event loop (a call that never awaits?)"
                )
        if raise_errors and self.errors:
            errors, self.errors = self.errors, []
            raise errors[0]

    def raise_error(self) -> None:
        """Raise the oldest exception the app raised while serving, if there is one (a client
        of this server calls it before and after each request, and before each session)."""
        if self.errors:
            raise self.errors.pop(0)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop(raise_errors=exc_info[1] is None)

    def client(self, **options: Any) -> LiveTestClient:
        """A sync client of this server (``options`` as for :class:`~asgitest.TestClient`)."""
        client = LiveTestClient(self.url, **options)
        client.server = self
        return client

    def async_client(self, **options: Any) -> AsyncLiveTestClient:
        """An async client of this server (``options`` as for :class:`~asgitest.AsyncTestClient`)."""
        client = AsyncLiveTestClient(self.url, **options)
        client.server = self
        return client
