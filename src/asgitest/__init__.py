"""asgitest: test ASGI apps in-process, sync or async, on one event loop as a server runs them.

>>> from asgitest import TestClient
>>> with TestClient(app) as client:  # doctest: +SKIP
...     assert client.get("/").status_code == 200
"""

from ._client import AsyncTestClient
from ._config import DEFAULT_GRACE_PERIOD, DEFAULT_TIMEOUT
from ._errors import (
    AppCancelledWarning,
    ASGIProtocolError,
    ASGITestError,
    ASGITestWarning,
    ASGITimeoutError,
    ClientClosedError,
    ClientDisconnected,
    LifespanFailed,
    StaleConnectionWarning,
    UnclosedConnectionWarning,
    UnexpectedMessage,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)
from ._live import AsyncLiveTestClient, AsyncLiveWebSocketSession, LiveServer, LiveTestClient, LiveWebSocketSession
from ._sync import TestClient, WebSocketSession
from ._types import ASGIApp, Message, Receive, Scope, Send
from ._virtual_clock import VirtualTimeLoop
from ._websocket import AsyncWebSocketSession

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_TIMEOUT",
    "ASGIApp",
    "ASGIProtocolError",
    "ASGITestError",
    "ASGITestWarning",
    "ASGITimeoutError",
    "AppCancelledWarning",
    "AsyncLiveTestClient",
    "AsyncLiveWebSocketSession",
    "AsyncTestClient",
    "AsyncWebSocketSession",
    "ClientClosedError",
    "ClientDisconnected",
    "LifespanFailed",
    "LiveServer",
    "LiveTestClient",
    "LiveWebSocketSession",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StaleConnectionWarning",
    "TestClient",
    "UnclosedConnectionWarning",
    "UnexpectedMessage",
    "VirtualTimeLoop",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketSession",
]

# Show the public classes as asgitest.X, not asgitest._module.X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and str(getattr(_obj, "__module__", "")).startswith(__name__ + "."):
        _obj.__module__ = __name__
del _name, _obj
