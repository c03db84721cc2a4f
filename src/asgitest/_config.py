"""What a client was configured with, shared by its connections."""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any, cast

from ._types import ASGI2App, ASGI3App, ASGIApp, Receive, Scope, Send

__all__ = ["DEFAULT_GRACE_PERIOD", "DEFAULT_TIMEOUT", "ClientConfig", "as_asgi3"]

#: Seconds any single wait may take unless the client or the call says otherwise.
DEFAULT_TIMEOUT = 5.0
#: Seconds an app gets to finish after a disconnect before it is cancelled.
DEFAULT_GRACE_PERIOD = 1.0

_client_numbers = itertools.count(1)


@dataclass(eq=False)
class ClientConfig:
    """The settings every connection of one client reads."""

    app: ASGI3App
    raise_server_exceptions: bool
    root_path: str
    client: tuple[str, int]
    timeout: float | None
    grace_period: float
    #: Whether a response body ends only once the app coroutine has returned (Starlette's way).
    wait_for_app: bool = True
    #: Whether every ASGI rule is enforced, or only those Starlette's TestClient enforces.
    strict: bool = True
    app_state: dict[str, Any] = field(default_factory=dict)
    number: int = field(default_factory=lambda: next(_client_numbers))

    @property
    def label(self) -> str:
        """How messages name this client."""
        host, port = self.client
        return f"test client #{self.number} ({host}:{port})"


def as_asgi3(app: ASGIApp) -> ASGI3App:
    """Return ``app`` itself if it is an ASGI 3 callable, else an ASGI 3 wrapper of the ASGI 2 app."""
    if _is_asgi3(app):
        return cast(ASGI3App, app)
    legacy = cast(ASGI2App, app)

    async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
        instance = legacy(scope)
        await instance(receive, send)

    return asgi3


def _is_asgi3(app: object) -> bool:
    if inspect.isclass(app):
        # A class is an ASGI 2 app (instantiated per scope) unless instances are awaitable.
        return hasattr(app, "__await__")
    while hasattr(app, "func") and not inspect.iscoroutinefunction(app):  # functools.partial
        app = app.func
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the method itself
    return inspect.iscoroutinefunction(call)
