"""The async client: runs the app on the test's own event loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import httpx2

from ._config import (
    SUITE_DEFAULT,
    ClientConfig,
    SuiteDefault,
    as_asgi3,
    check_seconds,
    check_timeout,
    offered_extensions,
    suite_defaults,
)
from ._engine import Engine, EngineTransport, reading_whole
from ._errors import ClientClosedError
from ._registry import emit
from ._scope import Handshake, websocket_request
from ._types import ASGIApp, AuthTypes, CookieTypes, HeaderTypes, QueryParamTypes, TimeoutTypes, UseClientDefault
from ._virtual_clock import watch_workers
from ._websocket import AsyncWebSocketSession

__all__ = [
    "AsyncTestClient",
    "WebSocketConnector",
    "check_open",
    "httpx_options",
    "make_config",
    "merge_url",
    "parse_base_url",
    "session_timeout",
]

SessionT = TypeVar("SessionT")

#: How many parsed base URLs, and merged URLs (by base URL and URL string), are kept.
_KEPT_URLS = 1024
_merged_urls: dict[tuple[str, str], httpx2.URL] = {}
_base_urls: dict[str, httpx2.URL] = {}


def make_config(
    app: ASGIApp,
    raise_server_exceptions: bool,
    root_path: str,
    client: tuple[str, int],
    timeout: TimeoutTypes | SuiteDefault,
    grace_period: float | None,
    wait_for_app: bool,
    strict: bool | None,
    transcripts: bool = True,
    extensions: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> ClientConfig:
    """The configuration both clients build from their constructor arguments; what they were
    not given is the suite's default (:func:`~asgitest._config.suite_defaults`)."""
    defaults = suite_defaults()
    return ClientConfig(
        app=as_asgi3(app),
        raise_server_exceptions=raise_server_exceptions,
        root_path=root_path,
        client=client,
        timeout=defaults.timeout if isinstance(timeout, SuiteDefault) else httpx2.Timeout(timeout).read,
        grace_period=defaults.grace_period if grace_period is None else check_seconds(grace_period, "grace_period"),
        wait_for_app=wait_for_app,
        strict=defaults.strict if strict is None else bool(strict),
        transcripts=bool(transcripts),
        extensions=offered_extensions(extensions),
    )


def httpx_options(
    config: ClientConfig,
    base_url: httpx2.URL | str,
    headers: dict[str, str] | None,
    follow_redirects: bool,
    cookies: CookieTypes | None,
) -> dict[str, Any]:
    """What an in-process client gives its httpx2 base, from its own arguments (all but the
    transport)."""
    return {
        "base_url": parse_base_url(base_url),
        "headers": default_headers(headers),
        "follow_redirects": follow_redirects,
        "cookies": cookies,
        "timeout": config.timeout,
    }


def default_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Starlette's default: the user agent is ``testclient`` unless the caller set one."""
    merged = dict(headers or {})
    if not any(name.lower() == "user-agent" for name in merged):
        merged["user-agent"] = "testclient"
    return merged


def check_open(client: httpx2.Client | httpx2.AsyncClient) -> None:
    """Raise :class:`ClientClosedError` if ``client`` was closed: a closed client stays closed."""
    if client.is_closed:
        raise ClientClosedError(f"{type(client).__name__} was closed; make a new one")


def parse_base_url(url: httpx2.URL | str) -> httpx2.URL:
    """``url`` parsed, once per string in the process: a suite makes a client per test, with
    the same base URL each time, and parsing it is half of what making an httpx2 client costs."""
    if not isinstance(url, str):
        return httpx2.URL(url)
    parsed = _base_urls.get(url)
    if parsed is None:
        parsed = httpx2.URL(url)
        if len(_base_urls) >= _KEPT_URLS:
            _base_urls.clear()
        _base_urls[url] = parsed
    return parsed


def merge_url(
    client: httpx2.Client | httpx2.AsyncClient, url: httpx2.URL | str, merge: Callable[[httpx2.URL | str], httpx2.URL]
) -> httpx2.URL:
    """``merge(url)``, httpx2's merge of ``url`` with the base URL, done once per base URL and
    URL string in the process.

    httpx2 parses a URL twice per request to merge it (much of its own cost per request);
    a suite sends the same few paths again and again, from client after client with the
    same base URL, and a URL is immutable.
    """
    if not isinstance(url, str):
        return merge(url)
    base = client.base_url
    known: tuple[httpx2.URL, str] | None = client.__dict__.get("_merged_base")
    if known is None or known[0] is not base:  # the base URL was set since
        known = client.__dict__["_merged_base"] = (base, str(base))
    key = (known[1], url)
    merged = _merged_urls.get(key)
    if merged is None:
        merged = merge(url)
        if len(_merged_urls) >= _KEPT_URLS:
            _merged_urls.clear()
        _merged_urls[key] = merged
    return merged


class WebSocketConnector(Generic[SessionT]):
    """``websocket_connect`` as every client has it: Starlette's signature, written once; each
    client opens its own kind of session in :meth:`_websocket`."""

    def websocket_connect(
        self,
        url: httpx2.URL | str,
        subprotocols: Sequence[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = httpx2.USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        extensions: dict[str, Any] | None = None,
        follow_redirects: bool | UseClientDefault = httpx2.USE_CLIENT_DEFAULT,
        **body: Any,
    ) -> SessionT:
        """A WebSocket session to ``url``; ``with`` (``async with`` for an async client)
        performs the handshake.

        ``url`` is relative to the base URL (its scheme becomes ws/wss). ``timeout``
        is the session's default wait (the client's when not given). The other
        arguments are a request's, as Starlette's client takes them: ``auth`` adds its
        headers to the handshake; ``follow_redirects`` and a body (``content``, ``data``,
        ``files``, ``json``) are accepted and have no effect on a handshake.
        """
        handshake = Handshake(url, subprotocols, params, headers, cookies, auth, extensions, follow_redirects, body)
        return self._websocket(handshake.checked(), timeout)

    def _websocket(self, handshake: Handshake, timeout: TimeoutTypes | UseClientDefault) -> SessionT:
        raise NotImplementedError


def session_timeout(timeout: object, default: float | None) -> float | None:
    """The default wait of a WebSocket session: the call's ``timeout`` if given, else the client's."""
    if timeout is httpx2.USE_CLIENT_DEFAULT:
        return default
    return httpx2.Timeout(cast(TimeoutTypes, timeout)).read


class AsyncTestClient(WebSocketConnector[AsyncWebSocketSession], httpx2.AsyncClient):
    """An ``httpx2.AsyncClient`` that runs an ASGI app in-process, on the caller's event loop.

    ``async with AsyncTestClient(app) as client`` runs the app's lifespan; without
    ``async with`` no lifespan runs. Every request, WebSocket session and lifespan
    runs on the loop of the test that awaits them, so loop-bound objects (database
    pools, locks) created by the test or its fixtures work in the app.

    Args:
        app: an ASGI 3 or ASGI 2 application.
        base_url: where relative URLs point; the host becomes the ``server`` of each scope.
        raise_server_exceptions: re-raise what the app raises at the call that observes it.
            When False, an app that fails before responding gives a 500.
        root_path: the ASGI ``root_path`` of every scope.
        cookies: as for ``httpx2.AsyncClient``.
        headers: as for ``httpx2.AsyncClient``; the user agent defaults to ``testclient``.
        follow_redirects: as for ``httpx2.AsyncClient``, but True by default, as Starlette's.
        client: the ``client`` (host, port) of every scope.
        timeout: the bound of every wait (response start, each body chunk, WebSocket
            accept and receive, lifespan); a per-call ``timeout`` overrides it. None
            disables the bound. Not given: the suite's default (``--asgi-timeout``,
            ``ASGITEST_TIMEOUT``), else :data:`~asgitest.DEFAULT_TIMEOUT` (30 s).
        grace_period: seconds an app gets to finish after a disconnect before it is
            cancelled. Not given: the suite's default, else 1 s.
        wait_for_app: whether reading a response to its end also waits for the app coroutine
            to return (so its background tasks have run and their exceptions are raised), as
            Starlette's TestClient does. With False, the body ends with the app's last chunk
            and the app runs on; :meth:`wait_idle` waits for it. A request can override it
            with ``extensions={"wait_for_app": ...}``.
        strict: turn every check into an error or a warning: the ASGI rules Starlette's
            TestClient does not enforce (status range, header syntax, content-length, a body
            cut short, close codes...; see :class:`ASGIProtocolError`), and the findings
            (sessions left open, apps cancelled, stale sockets) as warnings. Not given: the
            suite's default (``--asgi-strict``, ``ASGITEST_STRICT``), else False: nothing a
            test passing with Starlette's client would fail on.
        transcripts: whether each connection keeps its last ASGI events, which error
            messages end with. Off, a suite of many WebSocket messages runs a little faster
            (see the performance page) and its errors say less.
        extensions: the ASGI extensions the scopes offer, merged over the defaults (those
            Starlette's TestClient offers: ``http.response.debug``, ``http.response.trailers``,
            ``websocket.http.response``); a value of None withholds one. The others are
            ``http.response.early_hint``, ``http.response.pathsend``,
            ``http.response.zerocopysend``, ``http.response.push`` and ``tls`` (see the
            extensions page).
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: CookieTypes | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        timeout: TimeoutTypes | SuiteDefault = SUITE_DEFAULT,
        grace_period: float | None = None,
        wait_for_app: bool = True,
        strict: bool | None = None,
        transcripts: bool = True,
        extensions: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> None:
        config = make_config(
            app,
            raise_server_exceptions,
            root_path,
            client,
            timeout,
            grace_period,
            wait_for_app,
            strict,
            transcripts,
            extensions,
        )
        self.app, self.app_state, self._engine = config.app, config.app_state, Engine(config)
        options = httpx_options(config, base_url, headers, follow_redirects, cookies)
        super().__init__(transport=EngineTransport(self._engine), **options)

    def _merge_url(self, url: httpx2.URL | str) -> httpx2.URL:
        return merge_url(self, url, super()._merge_url)

    async def send(self, request: httpx2.Request, *, stream: bool = False, **kwargs: Any) -> httpx2.Response:
        check_open(self)
        self._engine.check_loop()
        token = reading_whole.set(not stream)
        try:
            return await super().send(request, stream=stream, **kwargs)
        finally:
            reading_whole.reset(token)

    async def __aenter__(self) -> AsyncTestClient:
        check_open(self)
        await watch_workers()  # a virtual clock on the test's loop holds still while worker threads run
        await super().__aenter__()
        await self._engine.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            notices = await self._engine.close()
        finally:
            await super().__aexit__(exc_type, exc_value, traceback)
        self._engine.finish_close(notices, raising=exc_type is not None, stacklevel=2)

    async def aclose(self) -> None:
        """End open sessions and streams, then close the client (no lifespan runs here).

        Raises the first exception an app raised after the test stopped reading its
        response, if nothing observed it (see :meth:`wait_idle`).
        """
        try:
            notices = await self._engine.close()
        finally:
            await super().aclose()
        self._engine.finish_close(notices, raising=False, stacklevel=2)

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until every app task this client started for HTTP has finished.

        Then re-raise the first exception one of them raised that no read observed
        (a background task after the response, an app that raised after the test left
        its stream). ``timeout`` defaults to the client's.

        Raises:
            ASGITimeoutError: some app task is still running after ``timeout`` seconds.
        """
        wait = self._engine.config.timeout if timeout is None else check_timeout(timeout, "timeout")
        emit(await self._engine.wait_idle(wait), stacklevel=2)

    def _websocket(self, handshake: Handshake, timeout: TimeoutTypes | UseClientDefault) -> AsyncWebSocketSession:
        check_open(self)
        self._engine.check_loop()
        request = websocket_request(self, handshake)
        return self._engine.websocket(request, session_timeout(timeout, self._engine.config.timeout))
