"""The sans-IO protocol core, driven directly: no event loop, no client."""

from __future__ import annotations

from typing import Any

import pytest

from asgitest import ASGIProtocolError
from asgitest._protocol import (
    HTTPProtocol,
    HTTPState,
    LifespanProtocol,
    LifespanState,
    WebSocketProtocol,
    WebSocketState,
)

START = {"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]}


def test_http_happy_path_with_trailers() -> None:
    http = HTTPProtocol("GET /")
    http.app_sends({"type": "http.response.debug", "info": {}})
    http.app_sends({**START, "trailers": True})
    assert http.state is HTTPState.BODY
    http.app_sends({"type": "http.response.body", "body": b"x", "more_body": True})
    http.app_sends({"type": "http.response.body", "body": b"y"})
    assert http.state is HTTPState.TRAILERS
    http.app_sends({"type": "http.response.trailers", "headers": [], "more_trailers": False})
    assert http.state is HTTPState.DONE


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([{"type": "http.response.body", "body": b""}], "'http.response.body' before 'http.response.start'"),
        ([START, START], "a second 'http.response.start'"),
        ([START, {"type": "http.response.body"}, {"type": "http.response.body"}], "after the response was complete"),
        ([{**START, "status": "200"}], "'status' must be an int"),
        ([{**START, "headers": [("a", "b")]}], "each header must be a [name, value] pair of bytes"),
        ([{**START, "headers": 3}], "'headers' must be an iterable"),
        ([START, {"type": "http.response.body", "body": "text"}], "'body' must be bytes"),
        ([{"type": "http.response.strat"}], "unexpected message type 'http.response.strat'"),
        ([{"status": 200}], "every ASGI message needs a string 'type'"),
        (["http.response.start"], "an ASGI message is a dict"),
    ],
)
def test_http_violations(messages: list[Any], rule: str) -> None:
    http = HTTPProtocol("GET /x")
    with pytest.raises(ASGIProtocolError) as caught:
        for message in messages:
            http.app_sends(message)
    assert rule in str(caught.value)
    assert str(caught.value).startswith("GET /x")


def test_websocket_accept_send_close() -> None:
    ws = WebSocketProtocol("WebSocket /ws")
    ws.app_sends({"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x", b"y")]})
    assert ws.state is WebSocketState.CONNECTED
    ws.app_sends({"type": "websocket.send", "text": "hi"})
    ws.app_sends({"type": "websocket.send", "bytes": b"hi"})
    ws.app_sends({"type": "websocket.close", "code": 1001, "reason": "bye"})
    assert ws.state is WebSocketState.CLOSED


def test_websocket_denial_response() -> None:
    ws = WebSocketProtocol("WebSocket /ws")
    ws.app_sends({"type": "websocket.http.response.start", "status": 403, "headers": []})
    assert ws.state is WebSocketState.RESPONDING
    ws.app_sends({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
    ws.app_sends({"type": "websocket.http.response.body", "body": b"!"})
    assert ws.state is WebSocketState.CLOSED


ACCEPT = {"type": "websocket.accept"}


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([{"type": "websocket.send", "text": "x"}], "'websocket.send' before 'websocket.accept'"),
        ([ACCEPT, ACCEPT], "'websocket.accept' sent twice"),
        ([ACCEPT, {"type": "websocket.send"}], "exactly one of 'text' or 'bytes'"),
        ([ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"b"}], "exactly one of 'text' or 'bytes'"),
        ([ACCEPT, {"type": "websocket.send", "text": b"a"}], "'text' must be a str"),
        ([ACCEPT, {"type": "websocket.send", "bytes": "a"}], "'bytes' must be bytes"),
        ([ACCEPT, {"type": "websocket.close"}, {"type": "websocket.send", "text": "x"}], "after the connection was"),
        ([{"type": "websocket.accept", "subprotocol": 1}], "'subprotocol' must be a str or None"),
        ([{"type": "websocket.accept", "headers": [(b"a",)]}], "each header must be a [name, value] pair"),
        ([{"type": "websocket.close", "code": "1000"}], "'code' must be an int"),
        ([{"type": "websocket.close", "reason": 5}], "'reason' must be a str or None"),
        ([ACCEPT, {"type": "websocket.http.response.start", "status": 500}], "is not allowed while accepted"),
        ([{"type": "websocket.http.response.start", "status": "500"}], "'status' must be an int"),
        (
            [
                {"type": "websocket.http.response.start", "status": 500},
                {"type": "websocket.http.response.body", "body": 1},
            ],
            "'body' must be bytes",
        ),
        ([{"type": "websocket.http.response.body", "body": b""}], "is not allowed while handshake pending"),
        ([{"type": "websocket.receive", "text": "x"}], "unexpected message type 'websocket.receive'"),
    ],
)
def test_websocket_violations(messages: list[Any], rule: str) -> None:
    ws = WebSocketProtocol("WebSocket /ws")
    with pytest.raises(ASGIProtocolError) as caught:
        for message in messages:
            ws.app_sends(message)
    assert rule in str(caught.value)


def test_lifespan_round_trip_and_violations() -> None:
    lifespan = LifespanProtocol()
    lifespan.server_sends("lifespan.startup")
    expected = r"expected 'lifespan\.startup\.complete' or 'lifespan\.startup\.failed'"
    with pytest.raises(ASGIProtocolError, match=expected):
        lifespan.app_sends({"type": "lifespan.shutdown.complete"})
    lifespan.app_sends({"type": "lifespan.startup.complete"})
    assert lifespan.state is LifespanState.STARTED
    with pytest.raises(ASGIProtocolError, match="expected nothing"):
        lifespan.app_sends({"type": "lifespan.startup.complete"})
    lifespan.server_sends("lifespan.shutdown")
    with pytest.raises(ASGIProtocolError, match="'message' must be a str"):
        lifespan.app_sends({"type": "lifespan.shutdown.failed", "message": 3})
    lifespan.app_sends({"type": "lifespan.shutdown.complete"})
    assert lifespan.state is LifespanState.DONE
