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

import contextlib
import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal

import httpx2

from ._backend import checkpoint
from ._client import check_open, default_headers
from ._config import SUITE_DEFAULT, SuiteDefault, as_asgi3, suite_defaults
from ._errors import (
    ASGITimeoutError,
    ClientClosedError,
    LifespanFailed,
    WebSocketDenialResponse,
    WebSocketDisconnect,
    is_disconnect_exit,
)
from ._types import (
    ASGIApp,
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    Message,
    QueryParamTypes,
    Receive,
    Scope,
    Send,
    TimeoutTypes,
    UseClientDefault,
)
from ._websocket import ABNORMAL_CLOSURE, bytes_of, json_message, json_of, text_of

__all__ = ["AsyncLiveTestClient", "AsyncLiveWebSocketSession", "LiveServer", "LiveTestClient", "LiveWebSocketSession"]

#: Seconds the server gets to start serving, and to stop.
START_TIMEOUT = 10.0
#: Seconds the app's connections get to finish when the server stops, before uvicorn
#: cancels them (an endless stream whose app ignores the disconnect would keep it forever).
SHUTDOWN_GRACE = 1.0


class LiveServer:
    """The app served by uvicorn on 127.0.0.1, for the length of a ``with`` block.

    Attributes:
        url: the server's base URL, ``http://127.0.0.1:<port>``.
        errors: the exceptions the app raised while serving, oldest first.
    """

    def __init__(self, app: ASGIApp, **uvicorn_options: Any) -> None:
        self.app = as_asgi3(app)
        self.options = uvicorn_options
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

        async def send_and_yield(message: Message) -> None:
            # uvicorn's send() returns at once after the client left, without yielding: an app
            # that loops on send() alone would hold the server's loop for ever. Yield once.
            await send(message)
            await checkpoint()

        try:
            await self.app(scope, receive, send_and_yield)
        except Exception as exc:
            if not is_disconnect_exit(exc):
                self.errors.append(exc)
            raise

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's lifespan; a startup failure is kept for :meth:`start` to raise, as in-process.

        As under uvicorn's ``lifespan="auto"``, an app that raises before it receives, or
        that answers with a message of another scope, has no lifespan: the server goes on.
        """
        supported = False

        async def receiving() -> Message:
            nonlocal supported
            supported = self._startup_asked = True
            return await receive()

        async def sending(message: Message) -> None:
            nonlocal supported
            self._startup_answered = True
            kind = str(message.get("type", ""))
            supported = supported and kind.startswith("lifespan.")
            if kind == "lifespan.startup.failed":
                reason = message.get("message") or "(no message)"
                self._failure.append(
                    LifespanFailed(f"lifespan of the live server at {self.url}: startup failed: {reason}")
                )
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception as exc:
            if supported:  # a failure of the app's own lifespan
                self._failure.append(exc)
            raise

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
        if not started.wait(START_TIMEOUT) or not server.started:
            if self._startup_asked and not self._startup_answered:
                # uvicorn waits for the answer without end: the server thread cannot be stopped.
                server.force_exit = server.should_exit = True
                self._thread = None
                raise ASGITimeoutError(
                    f"lifespan of the live server at {self.url}: the app did not answer "
                    f"lifespan.startup within {START_TIMEOUT}s"
                )
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

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop(raise_errors=exc is None)

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


def _client_kwargs(
    base_url: str,
    headers: dict[str, str] | None,
    cookies: CookieTypes | None,
    follow_redirects: bool,
    timeout: TimeoutTypes,
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "headers": default_headers(headers),
        "cookies": cookies,
        "follow_redirects": follow_redirects,
        "timeout": timeout,
    }


class LiveTestClient(httpx2.Client):
    """A sync client of a live server, with :class:`~asgitest.TestClient`'s WebSocket API.

    In-process options that have no meaning over a socket (``grace_period``,
    ``strict``, ``wait_for_app``...) are accepted and ignored, so one set of
    options serves both modes.
    """

    __test__ = False
    #: The server that made this client (:meth:`LiveServer.client`), if one did.
    server: LiveServer | None = None

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        cookies: CookieTypes | None = None,
        follow_redirects: bool = True,
        timeout: TimeoutTypes | SuiteDefault = SUITE_DEFAULT,
        **in_process_only: Any,
    ) -> None:
        if isinstance(timeout, SuiteDefault):
            timeout = suite_defaults().timeout
        super().__init__(**_client_kwargs(base_url, headers, cookies, follow_redirects, timeout))
        self._default_wait = httpx2.Timeout(timeout).read

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: float | None = None,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> LiveWebSocketSession:
        """A WebSocket session to ``url``; ``with`` performs the handshake."""
        check_open(self)
        request = {"auth": auth, "extensions": extensions, "follow_redirects": follow_redirects}
        return LiveWebSocketSession(
            self, url, subprotocols, params, headers, cookies, timeout or self._default_wait, request
        )


class AsyncLiveTestClient(httpx2.AsyncClient):
    """An async client of a live server, with :class:`~asgitest.AsyncTestClient`'s WebSocket API."""

    __test__ = False
    #: The server that made this client (:meth:`LiveServer.client`), if one did.
    server: LiveServer | None = None

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        cookies: CookieTypes | None = None,
        follow_redirects: bool = True,
        timeout: TimeoutTypes | SuiteDefault = SUITE_DEFAULT,
        **in_process_only: Any,
    ) -> None:
        if isinstance(timeout, SuiteDefault):
            timeout = suite_defaults().timeout
        super().__init__(**_client_kwargs(base_url, headers, cookies, follow_redirects, timeout))
        self._default_wait = httpx2.Timeout(timeout).read

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: float | None = None,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> AsyncLiveWebSocketSession:
        """A WebSocket session to ``url``; ``async with`` performs the handshake."""
        check_open(self)
        request = {"auth": auth, "extensions": extensions, "follow_redirects": follow_redirects}
        return AsyncLiveWebSocketSession(
            self, url, subprotocols, params, headers, cookies, timeout or self._default_wait, request
        )


def _ws_url(client: httpx2.Client | httpx2.AsyncClient, url: httpx2.URL | str) -> str:
    merged = client.base_url.join(url) if not str(url).startswith(("ws://", "wss://")) else httpx2.URL(str(url))
    return str(merged.copy_with(scheme={"http": "ws", "https": "wss"}.get(merged.scheme, merged.scheme)))


def _message(event: Any) -> Message:
    """A wsproto event as the message the in-process session would give."""
    from wsproto import events

    if isinstance(event, events.TextMessage):
        return {"type": "websocket.send", "text": event.data}
    if isinstance(event, events.BytesMessage):
        return {"type": "websocket.send", "bytes": bytes(event.data)}
    raise TypeError(f"unexpected WebSocket event {event!r}")  # pragma: no cover - pings are handled below


#: Headers of a handshake response that the server writes, not the app.
_HANDSHAKE_HEADERS = frozenset(
    {b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol", b"date", b"server"}
)


def _denial(error: Any) -> WebSocketDenialResponse:
    """The in-process denial for httpx2's upgrade error. httpx2 closes the response before
    raising, so its body is lost: a live denial has the status and headers only."""
    response = error.response
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HANDSHAKE_HEADERS]
    return WebSocketDenialResponse(response.status_code, headers=headers)


class _SessionBase:
    """What the sync and async live sessions share: the handshake's results and the close state."""

    accepted_subprotocol: str | None
    extra_headers: list[tuple[bytes, bytes]] | None

    def __init__(self, url: str, timeout: float | None, server: LiveServer | None) -> None:
        parsed = httpx2.URL(url)
        self._server = server
        self._client_address: tuple[str, int] | None = None
        self.where = f"WebSocket {parsed.raw_path.decode('ascii', 'replace')} (live, {parsed.host}:{parsed.port})"
        self._timeout = timeout
        self._closed: Message | None = None
        self._test_closed = ""
        self.accepted_subprotocol = None
        self.extra_headers = None

    @property
    def scope(self) -> Scope:
        """The scope the app received for this connection (the server's own dict)."""
        if self._server is None:
            raise ClientClosedError(
                "only a client made by LiveServer.client() or async_client() knows the scopes its server served"
            )
        if self._client_address is None or self._client_address not in self._server.websocket_scopes:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        return self._server.websocket_scopes[self._client_address]

    def _connected(self, session: Any) -> None:
        try:
            address = session.stream.get_extra_info("client_addr")
        except OSError:  # the server has closed the connection already (an app that returned)
            address = None
        self._client_address = None if address is None else (str(address[0]), int(address[1]))
        response = session.response
        if response is None:  # pragma: no cover - httpx2 always keeps the handshake response
            return
        self.accepted_subprotocol = response.headers.get("sec-websocket-protocol")
        # The headers the app added to its accept, without those of the handshake and the server.
        self.extra_headers = [
            (name.lower(), value) for name, value in response.headers.raw if name.lower() not in _HANDSHAKE_HEADERS
        ]

    def _close_message(self, code: int, reason: str | None) -> Message:
        self._closed = {"type": "websocket.close", "code": code, "reason": reason or ""}
        return dict(self._closed)

    def _check_open(self, session: Any) -> None:
        if session is None:
            raise ClientClosedError("this WebSocket session is not connected; use it as a context manager")
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; open a new session")
        if self._closed is not None:
            raise WebSocketDisconnect(self._closed["code"], self._closed["reason"])

    def _timeout_error(self, timeout: float | None) -> ASGITimeoutError:
        return ASGITimeoutError(f"{self.where}: timed out after {timeout}s waiting for a message from the app")

    def text_of(self, message: Message) -> str:
        return text_of(message, self.where)

    def bytes_of(self, message: Message) -> bytes:
        return bytes_of(message, self.where)

    def json_of(self, message: Message, mode: Literal["text", "binary"] = "text") -> Any:
        return json_of(message, mode, self.where)


class LiveWebSocketSession(_SessionBase):
    """A WebSocket session over a socket, with :class:`~asgitest.WebSocketSession`'s methods."""

    def __init__(
        self,
        client: httpx2.Client,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None,
        params: QueryParamTypes | None,
        headers: HeaderTypes | None,
        cookies: CookieTypes | None,
        timeout: float | None,
        request: dict[str, Any],
    ) -> None:
        self._url = _ws_url(client, url)
        super().__init__(self._url, timeout, getattr(client, "server", None))
        self._client = client
        self._connect_args: dict[str, Any] = {
            "subprotocols": list(subprotocols or []) or None,
            "params": params,
            "headers": headers,
            "cookies": cookies,
            **request,
        }
        self._stack = contextlib.ExitStack()
        self._session: Any = None

    def __enter__(self) -> LiveWebSocketSession:
        from httpx2.websockets import WebSocketUpgradeError

        try:
            self._session = self._stack.enter_context(self._client.websocket(self._url, **self._connect_args))
        except WebSocketUpgradeError as exc:
            raise _denial(exc) from None
        self._connected(self._session)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.close()

    def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        self._check_open(self._session)
        text = message.get("text")
        if text is not None:
            self._session.send_text(text)
        else:
            self._session.send_bytes(bytes(message["bytes"]))

    def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        self.send(json_message(data, mode))

    def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        from httpx2.websockets import WebSocketDisconnect as Closed
        from httpx2.websockets import WebSocketNetworkError as Dropped

        if self._closed is not None:
            return dict(self._closed)
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; nothing more will arrive")
        wait = self._timeout if timeout is None else timeout
        try:
            event = self._session.receive(timeout=wait)
        except TimeoutError:
            raise self._timeout_error(wait) from None
        except Closed as exc:
            return self._close_message(exc.code, exc.reason)
        except Dropped:  # the connection ended without a close frame: abnormal closure
            return self._close_message(ABNORMAL_CLOSURE, None)
        return _message(event)

    def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.text_of(self.receive(timeout))

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.bytes_of(self.receive(timeout))

    def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return self.json_of(self.receive(timeout), mode)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        self._test_closed = self._test_closed or f"closed by the test with code {code}"
        self._session.close(code, reason)


class AsyncLiveWebSocketSession(_SessionBase):
    """A WebSocket session over a socket, with :class:`~asgitest.AsyncWebSocketSession`'s methods."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None,
        params: QueryParamTypes | None,
        headers: HeaderTypes | None,
        cookies: CookieTypes | None,
        timeout: float | None,
        request: dict[str, Any],
    ) -> None:
        self._url = _ws_url(client, url)
        super().__init__(self._url, timeout, getattr(client, "server", None))
        self._client = client
        self._connect_args: dict[str, Any] = {
            "subprotocols": list(subprotocols or []) or None,
            "params": params,
            "headers": headers,
            "cookies": cookies,
            **request,
        }
        self._stack = contextlib.AsyncExitStack()
        self._session: Any = None

    async def __aenter__(self) -> AsyncLiveWebSocketSession:
        from httpx2.websockets import WebSocketUpgradeError

        try:
            self._session = await self._stack.enter_async_context(
                self._client.websocket(self._url, **self._connect_args)
            )
        except WebSocketUpgradeError as exc:
            raise _denial(exc) from None
        self._connected(self._session)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._stack.aclose()

    async def send(self, message: Message) -> None:
        """Deliver a raw ASGI message (``websocket.receive`` with ``text`` or ``bytes``) to the app."""
        self._check_open(self._session)
        text = message.get("text")
        if text is not None:
            await self._session.send_text(text)
        else:
            await self._session.send_bytes(bytes(message["bytes"]))

    async def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        await self.send(json_message(data, mode))

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message the app sent (``websocket.send``, or its ``websocket.close``), within ``timeout``."""
        from httpx2.websockets import WebSocketDisconnect as Closed
        from httpx2.websockets import WebSocketNetworkError as Dropped

        if self._closed is not None:
            return dict(self._closed)
        if self._test_closed:
            raise ClientClosedError(f"{self.where} was {self._test_closed}; nothing more will arrive")
        wait = self._timeout if timeout is None else timeout
        try:
            event = await self._session.receive(timeout=wait)
        except TimeoutError:
            raise self._timeout_error(wait) from None
        except Closed as exc:
            return self._close_message(exc.code, exc.reason)
        except Dropped:  # the connection ended without a close frame: abnormal closure
            return self._close_message(ABNORMAL_CLOSURE, None)
        return _message(event)

    async def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.text_of(await self.receive(timeout))

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return self.bytes_of(await self.receive(timeout))

    async def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return self.json_of(await self.receive(timeout), mode)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the session: the app receives ``websocket.disconnect`` with ``code`` and ``reason``."""
        self._test_closed = self._test_closed or f"closed by the test with code {code}"
        await self._session.close(code, reason)
