"""The exceptions and warnings asgitest raises.

Every exception derives from :class:`ASGITestError` and, where a user would reach
for a standard type, from that type too, so existing ``except`` clauses keep
working::

    ASGITestError
    ├── ASGITimeoutError            (also TimeoutError) a bounded wait expired
    ├── ASGIProtocolError           (also RuntimeError, AssertionError) the app broke the
    │                                ASGI rules
    │   └── LifespanFailed          the app answered lifespan.startup.failed (or
    │                                shutdown.failed)
    ├── ClientDisconnected          (also OSError) the app sent on a connection the
    │                                client had closed; raised *inside the app*
    ├── WebSocketDisconnect         (also starlette.websockets.WebSocketDisconnect)
    │   └── WebSocketDenialResponse (also httpx2.Response and
    │                                starlette.testclient.WebSocketDenialResponse)
    ├── ClientClosedError           (also RuntimeError) the test used a closed client
    │                                or session
    └── UnexpectedMessage           (also AssertionError) the app sent a message within
                                     the window of a session's ``expect_nothing()``

    ASGITestWarning (UserWarning)
    ├── StaleConnectionWarning      the app still holds connections the test closed
    ├── UnclosedConnectionWarning   the test left a session or a stream open at close
    └── AppCancelledWarning         the app did not stop within the grace period after
                                     a disconnect and was cancelled

Starlette is optional: when it is importable, the WebSocket exceptions also derive
from Starlette's classes, so tests written for ``starlette.testclient`` keep
catching them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import httpx2

from ._protocol._errors import ASGIProtocolError, ASGITestError

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = [
    "ASGIProtocolError",
    "ASGITestError",
    "ASGITestWarning",
    "ASGITimeoutError",
    "AppCancelledWarning",
    "ClientClosedError",
    "ClientDisconnected",
    "LifespanFailed",
    "StaleConnectionWarning",
    "UnclosedConnectionWarning",
    "UnexpectedMessage",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "is_disconnect_exit",
]


class ASGITimeoutError(ASGITestError, TimeoutError):
    """A bounded wait expired. The message says what was awaited and on which connection."""


class LifespanFailed(ASGIProtocolError):
    """The app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``; the
    message carries the app's own message."""


class ClientClosedError(ASGITestError, RuntimeError):
    """The test used a client or session after closing it."""


class UnexpectedMessage(ASGITestError, AssertionError):
    """The app sent a message (or closed) within the window of a WebSocket session's
    ``expect_nothing()``. The message stays queued: the next ``receive*()`` returns it.

    Attributes:
        message: the message that came (a ``websocket.send``, or the ``websocket.close``).
    """

    def __init__(self, text: str, message: dict[str, Any]) -> None:
        super().__init__(text)
        self.message = message


class ClientDisconnected(ASGITestError, OSError):
    """Raised inside the app when it sends on a connection the client has closed.

    A production server (uvicorn, hypercorn) raises an ``OSError`` subclass in the
    same place; frameworks turn it into their own disconnect exception (Starlette:
    ``WebSocketDisconnect(1006)`` or ``ClientDisconnect``).
    """


if TYPE_CHECKING:
    _StarletteWebSocketDisconnect = Exception
    _StarletteDenial = httpx2.Response
    _StarletteClientDisconnect = OSError
else:
    try:
        from starlette.websockets import WebSocketDisconnect as _StarletteWebSocketDisconnect
    except ImportError:  # pragma: no cover - exercised only without Starlette
        _StarletteWebSocketDisconnect = Exception
    try:
        from starlette.testclient import WebSocketDenialResponse as _StarletteDenial
    except ImportError:  # pragma: no cover - exercised only without Starlette
        _StarletteDenial = httpx2.Response
    try:
        from starlette.requests import ClientDisconnect as _StarletteClientDisconnect
    except ImportError:  # pragma: no cover - exercised only without Starlette
        _StarletteClientDisconnect = ClientDisconnected


class WebSocketDisconnect(ASGITestError, _StarletteWebSocketDisconnect):
    """The WebSocket was closed, by the app or by the handshake failing.

    Attributes:
        code: the WebSocket close code (1000 for a normal close).
        reason: the close reason, ``""`` when none was given.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        Exception.__init__(self, self._describe())

    def _describe(self) -> str:
        text = f"WebSocket closed with code {self.code}"
        return f"{text}: {self.reason}" if self.reason else text

    def __str__(self) -> str:
        return self._describe()


class WebSocketDenialResponse(_StarletteDenial, WebSocketDisconnect):  # type: ignore[misc]
    """The app refused the WebSocket handshake with an HTTP response.

    It is an ``httpx2.Response``: ``status_code``, ``headers``, ``content``,
    ``text`` and ``json()`` are those of the response the app sent with
    ``websocket.http.response.start`` / ``websocket.http.response.body``.
    """

    def __init__(self, status_code: int, headers: Any = None, content: bytes = b"") -> None:
        httpx2.Response.__init__(self, status_code, headers=headers, content=content)
        self.code = 1006
        self.reason = f"handshake denied with HTTP {status_code}"

    def __str__(self) -> str:
        return f"WebSocket handshake denied with HTTP {self.status_code}"


class ASGITestWarning(UserWarning):
    """Root of the warnings asgitest emits."""


class StaleConnectionWarning(ASGITestWarning):
    """The app still references connections that the client closed.

    That is the leak that makes a later test fail when the app sends to them.
    """


class UnclosedConnectionWarning(ASGITestWarning):
    """The test left a WebSocket session or a streamed response open when its client closed.

    The client closes it then; the warning names the route so the test can close it itself.
    """


class AppCancelledWarning(ASGITestWarning):
    """The app did not return within the grace period after the client went away, and was cancelled.

    A production server does not cancel it; an app that streams should stop when
    ``receive()`` returns ``http.disconnect`` (Starlette: ``request.is_disconnected()``)
    or when a send raises.
    """


def is_disconnect_exit(error: BaseException, _depth: int = 0) -> bool:
    """Whether ``error`` is how an app (or its framework) leaves once the client went away.

    ``ClientDisconnected`` (any ``OSError``, as servers raise) and the frameworks'
    own disconnect exceptions: raised after the test disconnected, they are the
    app's normal way out, not a failure to report. Frameworks wrap them: an
    exception raised *from* one (Litestar), *in place of* one while handling it
    (``raise ... from None``: Quart 0.23), or a group of nothing else (task groups),
    is one too.
    """
    if isinstance(error, _DISCONNECTS):
        return True
    if _depth > 16:  # pragma: no cover - a cycle of causes
        return False
    if isinstance(error, BaseExceptionGroup):
        return all(is_disconnect_exit(inner, _depth + 1) for inner in error.exceptions)
    if error.__cause__ is not None:
        return is_disconnect_exit(error.__cause__, _depth + 1)
    hidden = error.__context__ if error.__suppress_context__ else None
    return hidden is not None and is_disconnect_exit(hidden, _depth + 1)


_DISCONNECTS = (OSError, WebSocketDisconnect, _StarletteWebSocketDisconnect, _StarletteClientDisconnect)
