"""The sans-IO core: which ASGI message may come when, for each scope type.

Nothing here awaits or imports an event-loop library. The I/O shell
(``_http``, ``_websocket``, ``_lifespan``) moves messages between the test and
the app and asks these state machines whether each move is legal; a machine
answers with the new state or raises :class:`~asgitest.ASGIProtocolError`.
"""

from ._http import HTTPProtocol, HTTPState
from ._lifespan import LifespanProtocol, LifespanState
from ._rules import RELAXED, RULES, TABLE, Rule
from ._transcript import SilentTranscript, Transcript
from ._websocket import WebSocketProtocol, WebSocketState

__all__ = [
    "RELAXED",
    "RULES",
    "TABLE",
    "HTTPProtocol",
    "HTTPState",
    "LifespanProtocol",
    "LifespanState",
    "Rule",
    "SilentTranscript",
    "Transcript",
    "WebSocketProtocol",
    "WebSocketState",
]
