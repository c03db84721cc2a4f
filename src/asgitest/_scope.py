"""Build ASGI scopes from httpx2 requests (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import httpx2

from ._config import ClientConfig
from ._types import AuthTypes, CookieTypes, HeaderTypes, QueryParamTypes, Scope, UseClientDefault

__all__ = ["Handshake", "http_scope", "websocket_request", "websocket_scope"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_ASGI = {"version": "3.0", "spec_version": "2.4"}


class Handshake(NamedTuple):
    """What a ``websocket_connect`` call asked for, as the call gave it: each client builds
    its handshake from it (an in-process request, or httpx2's over a socket)."""

    url: httpx2.URL | str
    subprotocols: Sequence[str] | None
    params: QueryParamTypes | None
    headers: HeaderTypes | None
    cookies: CookieTypes | None
    auth: AuthTypes | UseClientDefault | None
    extensions: dict[str, Any] | None
    follow_redirects: bool | UseClientDefault
    body: dict[str, Any]

    def checked(self) -> Handshake:
        """This handshake, once its arguments that no client would take are refused."""
        subprotocols = self.subprotocols
        if isinstance(subprotocols, str | bytes) or (
            subprotocols is not None and not all(isinstance(protocol, str) for protocol in subprotocols)
        ):
            raise TypeError(f"subprotocols is a list of str, not {subprotocols!r}")
        return self


def _common(request: httpx2.Request, config: ClientConfig) -> dict[str, Any]:
    url = request.url
    headers = [(name.lower(), value) for name, value in request.headers.raw]
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", url.netloc))
    return {
        "asgi": dict(_ASGI),
        "http_version": "1.1",
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": config.root_path,
        "headers": headers,
        "client": config.client,
        "server": (url.host, _DEFAULT_PORTS.get(url.scheme, 80) if url.port is None else url.port),
        "state": config.app_state.copy(),
    }


def http_scope(request: httpx2.Request, config: ClientConfig) -> Scope:
    """The scope of an http connection for ``request``."""
    scope = _common(request, config)
    scope["type"] = "http"
    scope["method"] = request.method
    scope["extensions"] = config.scope_extensions(config.http_extensions)
    return scope


def websocket_scope(request: httpx2.Request, config: ClientConfig) -> Scope:
    """The scope of a websocket connection for the handshake ``request`` (a ws:// or wss:// URL)."""
    scope = _common(request, config)
    scope["type"] = "websocket"
    offered = request.headers.get("sec-websocket-protocol")
    scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()] if offered else []
    scope["extensions"] = config.scope_extensions(config.websocket_extensions)
    return scope


def websocket_request(client: httpx2.Client | httpx2.AsyncClient, handshake: Handshake) -> httpx2.Request:
    """The handshake request for ``url``, merged with the client's base URL, headers and cookies.

    The handshake headers (``connection: upgrade`` and the ``sec-websocket-*`` ones) are
    the call's own, as Starlette's client sends them: they take the place of the client's
    defaults (httpx2's ``connection: keep-alive``), and ``headers`` given to the call
    take theirs. ``auth`` (the client's by default, as for a request) adds its headers
    as it would to a request's first attempt. ``body`` (``content``, ``data``, ``files``,
    ``json``) is accepted, as Starlette's client accepts it, and builds a body that no
    handshake sends.
    """
    subprotocols = handshake.subprotocols
    headers = httpx2.Headers(handshake.headers)
    for name, value in _HANDSHAKE:
        if name not in headers:
            headers[name] = value
    if subprotocols and "sec-websocket-protocol" not in headers:
        headers["sec-websocket-protocol"] = ", ".join(subprotocols)
    request = client.build_request(
        "GET",
        handshake.url,
        params=handshake.params,
        headers=headers,
        cookies=handshake.cookies,
        extensions=handshake.extensions,
        **handshake.body,
    )
    request.url = _ws_url(request.url)
    auth = handshake.auth
    if auth is not None:
        # httpx2 picks the auth of a request (the call's, the client's, the URL's user info)
        # in this private method; there is no public one. Only the first step of its flow
        # applies: a handshake gets no second attempt.
        flow = client._build_request_auth(request, auth).sync_auth_flow(request)
        request = next(flow)
        flow.close()
    return request


_HANDSHAKE = (
    ("connection", "upgrade"),
    ("sec-websocket-key", "testserver=="),
    ("sec-websocket-version", "13"),
)


def _ws_url(url: httpx2.URL) -> httpx2.URL:
    """``url`` with the ws/wss scheme of its http/https one, made once per URL in the process
    (a copy with another scheme is a new parse: the dearest part of building a handshake)."""
    key = str(url)
    ws_url = _ws_urls.get(key)
    if ws_url is None:
        scheme = {"http": "ws", "https": "wss"}.get(url.scheme, url.scheme)
        ws_url = url if scheme == url.scheme else url.copy_with(scheme=scheme)
        if len(_ws_urls) >= _WS_URLS_KEPT:
            _ws_urls.clear()
        _ws_urls[key] = ws_url
    return ws_url


_WS_URLS_KEPT = 1024
_ws_urls: dict[str, httpx2.URL] = {}
