"""Live mode: the same tests against the app served by uvicorn, over real sockets.

The server (:mod:`._server`), its clients (:mod:`._clients`) and their WebSocket sessions
(:mod:`._sessions`). Needs the ``live`` extra (uvicorn, wsproto).
"""

from ._clients import AsyncLiveTestClient, LiveTestClient
from ._server import SHUTDOWN_GRACE, START_TIMEOUT, LiveServer
from ._sessions import AsyncLiveWebSocketSession, LiveWebSocketSession

__all__ = [
    "SHUTDOWN_GRACE",
    "START_TIMEOUT",
    "AsyncLiveTestClient",
    "AsyncLiveWebSocketSession",
    "LiveServer",
    "LiveTestClient",
    "LiveWebSocketSession",
]
