"""Testing a broadcast: sockets kept in a list, a POST whose background task sends to all of them."""

# --8<-- [start:app]
import pytest
from fastapi import BackgroundTasks, FastAPI, WebSocket, WebSocketDisconnect

from asgitest import AsyncTestClient, TestClient

app = FastAPI()
sockets: list[WebSocket] = []  # outlives every test client, as module state does


async def broadcast(message: dict[str, str]) -> None:
    for websocket in list(sockets):
        await websocket.send_json(message)


@app.post("/players/{name}")
async def join(name: str, background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(broadcast, {"event": "player_joined", "name": name})
    return {"name": name}


@app.websocket("/lobby")
async def lobby(websocket: WebSocket) -> None:
    await websocket.accept()
    sockets.append(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        sockets.remove(websocket)


# --8<-- [end:app]


# --8<-- [start:sync]
def test_every_socket_hears_about_a_new_player():
    with (
        TestClient(app) as client,
        client.websocket_connect("/lobby") as ada,
        client.websocket_connect("/lobby") as bob,
    ):
        client.post("/players/cyd")
        assert ada.receive_json(timeout=2) == {"event": "player_joined", "name": "cyd"}
        assert bob.receive_json(timeout=2) == {"event": "player_joined", "name": "cyd"}


def test_the_next_test_starts_clean():
    # The app removed both sockets when their sessions closed: no broadcast to a dead socket.
    assert sockets == []
    with TestClient(app) as client, client.websocket_connect("/lobby") as ada:
        client.post("/players/dan")
        assert ada.receive_json(timeout=2) == {"event": "player_joined", "name": "dan"}


# --8<-- [end:sync]


# --8<-- [start:async]
@pytest.mark.anyio
async def test_broadcast_async():
    async with AsyncTestClient(app) as client, client.websocket_connect("/lobby") as ada:
        await client.post("/players/eve")
        assert await ada.receive_json(timeout=2) == {"event": "player_joined", "name": "eve"}


# --8<-- [end:async]
