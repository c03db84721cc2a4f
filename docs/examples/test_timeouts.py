"""Timeouts: every wait is bounded, per client and per call."""

# --8<-- [start:app]
import contextlib

import anyio
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgitest import ASGITimeoutError, TestClient

app = FastAPI()


@app.get("/report")
async def report() -> dict[str, str]:
    await anyio.sleep(60)  # a slow query
    return {"status": "ready"}


@app.websocket("/quiet")
async def quiet(websocket: WebSocket) -> None:
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):  # the test's close ends the session
        await websocket.receive_text()  # never sends anything


# --8<-- [end:app]


# --8<-- [start:test]
def test_a_slow_endpoint_times_out():
    client = TestClient(app, timeout=1, grace_period=0.1)  # every wait: 1 s at most
    with pytest.raises(ASGITimeoutError, match=r"GET /report: the app did not start a response within 0\.2s"):
        client.get("/report", timeout=0.2)  # this call: 0.2 s
    client.close()


def test_a_silent_websocket_times_out():
    with TestClient(app) as client, client.websocket_connect("/quiet") as ws:
        with pytest.raises(ASGITimeoutError, match="waiting for a message from the app"):
            ws.receive_text(timeout=0.1)
        with pytest.raises(TimeoutError):  # ASGITimeoutError is a TimeoutError
            ws.receive_text(timeout=0.1)


# --8<-- [end:test]
