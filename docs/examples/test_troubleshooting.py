"""Troubleshooting: the warnings and errors asgitest raises, shown on small FastAPI apps."""

import anyio
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from asgitest import (
    AppCancelledWarning,
    ASGIProtocolError,
    StaleConnectionWarning,
    TestClient,
    UnclosedConnectionWarning,
)

app = FastAPI()


# --8<-- [start:protocol]
@app.get("/greeting")
async def greeting() -> Response:
    return Response("hello", headers={"content-length": "3"})  # a hand-written, wrong length


def test_a_wrong_content_length_is_reported():
    with TestClient(app, strict=True) as client, pytest.raises(ASGIProtocolError) as caught:
        client.get("/greeting")
    assert caught.value.rule == "http-content-length"


# --8<-- [end:protocol]


# --8<-- [start:stale]
subscribers: list[WebSocket] = []


@app.websocket("/subscribe")
async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept()
    subscribers.append(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass  # the bug: the socket stays in `subscribers`


def test_a_kept_socket_is_reported():
    client = TestClient(app, strict=True)  # by default: a finding in the plugin's summary
    with client.websocket_connect("/subscribe"):
        pass
    with pytest.warns(StaleConnectionWarning, match="1 closed WebSocket connection"):
        client.close()
    subscribers.clear()


# --8<-- [end:stale]


# --8<-- [start:unclosed]
@app.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


def test_a_session_left_open_is_reported():
    client = TestClient(app, strict=True)  # by default: a finding in the plugin's summary
    client.websocket_connect("/echo").__enter__()  # the bug: never left (use `with`)
    with pytest.warns(UnclosedConnectionWarning, match="WebSocket session to /echo: 1 left open"):
        client.close()


# --8<-- [end:unclosed]


# --8<-- [start:cancelled]
@app.websocket("/clock")
async def clock(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:  # sends only: never sees the disconnect
        await websocket.send_text("tick")
        await anyio.sleep(10)


@app.websocket("/clock/v2")
async def clock_v2(websocket: WebSocket) -> None:
    await websocket.accept()
    async with anyio.create_task_group() as tasks:

        async def tick() -> None:
            while True:
                await websocket.send_text("tick")
                await anyio.sleep(10)

        tasks.start_soon(tick)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            tasks.cancel_scope.cancel()  # the client left: stop ticking


def test_an_app_that_ignores_the_close_is_cancelled():
    with TestClient(app, grace_period=0.1, strict=True) as client:
        with pytest.warns(AppCancelledWarning), client.websocket_connect("/clock") as ws:
            assert ws.receive_text() == "tick"
        with client.websocket_connect("/clock/v2") as ws:  # returns on the close: no warning
            assert ws.receive_text() == "tick"


# --8<-- [end:cancelled]
