"""Public type aliases: ASGI applications and messages, and the request arguments asgitest takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from http.cookiejar import CookieJar
from typing import Any

import httpx2
from httpx2._client import UseClientDefault  # the type of httpx2.USE_CLIENT_DEFAULT; not exported

__all__ = [
    "ASGI2App",
    "ASGI3App",
    "ASGIApp",
    "AuthTypes",
    "CookieTypes",
    "HeaderTypes",
    "Message",
    "QueryParamTypes",
    "Receive",
    "Scope",
    "Send",
    "TimeoutTypes",
    "UseClientDefault",
    "message_type",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]
ASGI2Instance = Callable[[Receive, Send], Awaitable[None]]
ASGI2App = Callable[[Scope], ASGI2Instance]
ASGIApp = ASGI3App | ASGI2App

_Primitive = str | int | float | bool | None
QueryParamTypes = (
    httpx2.QueryParams
    | Mapping[str, _Primitive | Sequence[_Primitive]]
    | list[tuple[str, _Primitive]]
    | tuple[tuple[str, _Primitive], ...]
    | str
    | bytes
)
HeaderTypes = (
    httpx2.Headers
    | Mapping[str, str]
    | Mapping[bytes, bytes]
    | Sequence[tuple[str, str]]
    | Sequence[tuple[bytes, bytes]]
)
CookieTypes = httpx2.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]]
AuthTypes = tuple[str | bytes, str | bytes] | Callable[[httpx2.Request], httpx2.Request] | httpx2.Auth
TimeoutTypes = float | None | tuple[float | None, float | None, float | None, float | None] | httpx2.Timeout


def message_type(message: object) -> object:
    """A message's ``type`` for an error to name, whatever the app sent in its place."""
    return message.get("type") if isinstance(message, Mapping) else message
