"""Build ASGI scopes from httpx2 requests (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx2

from ._config import ClientConfig
from ._types import CookieTypes, HeaderTypes, QueryParamTypes, Scope

__all__ = ["http_scope", "websocket_request", "websocket_scope"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_ASGI = {"version": "3.0", "spec_version": "2.4"}


def _url_parts(url: httpx2.URL) -> dict[str, Any]:
    """The scope keys that depend on the URL alone, computed once per URL object.

    The clients reuse the URL of a path they have seen (see ``merge_url``), and an
    httpx2 URL is immutable; its properties are recomputed at every access.
    """
    entry = _parts.get(id(url))
    if entry is not None and entry[0] is url:
        return entry[1]
    parts = {
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "server": (url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80)),
    }
    if len(_parts) >= _PARTS_KEPT:
        _parts.clear()
    _parts[id(url)] = (url, parts)
    return parts


_PARTS_KEPT = 1024
_parts: dict[int, tuple[httpx2.URL, dict[str, Any]]] = {}


def _common(request: httpx2.Request, config: ClientConfig) -> dict[str, Any]:
    url = request.url
    headers = [(name.lower(), value) for name, value in request.headers.raw]
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", url.netloc))
    scope = {
        "asgi": dict(_ASGI),
        "http_version": "1.1",
        "root_path": config.root_path,
        "headers": headers,
        "client": config.client,
        "state": config.app_state.copy(),
    }
    scope.update(_url_parts(url))
    return scope


def http_scope(request: httpx2.Request, config: ClientConfig) -> Scope:
    """The scope of an http connection for ``request``."""
    scope = _common(request, config)
    scope["type"] = "http"
    scope["method"] = request.method
    scope["extensions"] = {"http.response.debug": {}, "http.response.trailers": {}}
    return scope


def websocket_scope(request: httpx2.Request, config: ClientConfig) -> Scope:
    """The scope of a websocket connection for the handshake ``request`` (a ws:// or wss:// URL)."""
    scope = _common(request, config)
    scope["type"] = "websocket"
    offered = request.headers.get("sec-websocket-protocol")
    scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()] if offered else []
    scope["extensions"] = {"websocket.http.response": {}}
    return scope


def websocket_request(
    client: httpx2.Client | httpx2.AsyncClient,
    url: httpx2.URL | str,
    subprotocols: Sequence[str] | None,
    params: QueryParamTypes | None,
    headers: HeaderTypes | None,
    cookies: CookieTypes | None,
) -> httpx2.Request:
    """The handshake request for ``url``, merged with the client's base URL, headers and cookies."""
    request = client.build_request("GET", url, params=params, headers=headers, cookies=cookies)
    scheme = {"http": "ws", "https": "wss"}.get(request.url.scheme, request.url.scheme)
    request.url = request.url.copy_with(scheme=scheme)
    for name, value in (
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-key", "testserver=="),
        ("sec-websocket-version", "13"),
    ):
        request.headers.setdefault(name, value)
    if subprotocols:
        request.headers.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
    return request
