"""The protocol core on the server's side: the messages of the app a live server serves go
through the state machines and rules of the in-process client (honouring ``strict``), so a
rule broken is the same error in both modes."""

from __future__ import annotations

from typing import Any

from .._protocol import HTTPProtocol, WebSocketProtocol
from .._types import Scope

__all__ = ["state_machine"]


class _Unchecked:
    """The machine of a scope asgitest has no rules for: it checks nothing."""

    def app_received(self, message: Any) -> None:
        pass

    def app_sends(self, message: Any) -> None:
        pass

    def app_returned(self) -> None:
        return None


def state_machine(scope: Scope, *, strict: bool) -> HTTPProtocol | WebSocketProtocol | _Unchecked:
    """The state machine that checks the app's side of a connection with ``scope``."""
    path = scope.get("path", "")
    extensions = scope.get("extensions") or {}
    if scope["type"] == "http":
        where = f"{scope.get('method', '')} {path} (live)"
        method = scope.get("method")
        return HTTPProtocol(where, strict=strict, head=method == "HEAD", offered=frozenset(extensions))
    if scope["type"] == "websocket":
        where = f"WebSocket {path} (live)"
        denials = "websocket.http.response" in extensions
        return WebSocketProtocol(where, strict=strict, offered=scope.get("subprotocols", ()), denials=denials)
    return _Unchecked()
