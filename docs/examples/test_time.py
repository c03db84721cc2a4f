"""Virtual time: a heartbeat every 30 s and a session that expires after an hour, tested in milliseconds."""

# --8<-- [start:app]
import anyio
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgitest import AsyncTestClient, TestClient

app = FastAPI()


@app.websocket("/live")
async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    async with anyio.create_task_group() as group:

        async def heartbeat() -> None:
            while True:
                await anyio.sleep(30)
                await websocket.send_json({"type": "heartbeat"})

        group.start_soon(heartbeat)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            group.cancel_scope.cancel()


@app.get("/session")
async def session() -> dict[str, str]:
    await anyio.sleep(3600)  # stands in for an hour-long expiry window
    return {"status": "expired"}


# --8<-- [end:app]


# --8<-- [start:sync]
def test_a_heartbeat_every_thirty_seconds():
    with TestClient(app, clock="virtual") as client, client.websocket_connect("/live") as ws:
        began = client.clock_time()
        for _ in range(3):
            assert ws.receive_json() == {"type": "heartbeat"}  # each at once, in real time
        assert client.clock_time() - began == 90


def test_advance_runs_what_comes_due():
    with TestClient(app, clock="virtual") as client, client.websocket_connect("/live") as ws:
        client.advance(65)  # the heartbeats at 30 and 60 s are sent; the next is at 90
        assert ws.receive_json() == {"type": "heartbeat"}
        assert ws.receive_json() == {"type": "heartbeat"}
        ws.expect_nothing(within=20)  # 85 s: nothing more yet


def test_an_hour_passes_at_once():
    with TestClient(app, clock="virtual", timeout=7200) as client:  # the bound is virtual too
        assert client.get("/session").json() == {"status": "expired"}


# --8<-- [end:sync]


# --8<-- [start:trio]
@pytest.fixture
def anyio_backend():
    from trio.testing import MockClock

    # trio's own virtual clock: it jumps whenever every task waits on a timer.
    return "trio", {"clock": MockClock(autojump_threshold=0)}


@pytest.mark.anyio
async def test_an_hour_passes_at_once_on_trio():
    async with AsyncTestClient(app, timeout=7200) as client:
        assert (await client.get("/session")).json() == {"status": "expired"}


# --8<-- [end:trio]
