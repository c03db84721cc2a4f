"""A WebSocket connection lost without a close frame: the app's cleanup still runs."""

# --8<-- [start:app]
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgitest import TestClient

app = FastAPI()
online: set[str] = set()
last_close_code: dict[str, int] = {}


@app.websocket("/presence/{name}")
async def presence(websocket: WebSocket, name: str) -> None:
    await websocket.accept()
    online.add(name)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect as disconnect:
        online.discard(name)
        last_close_code[name] = disconnect.code


# --8<-- [end:app]


# --8<-- [start:test]
def test_a_user_whose_connection_drops_goes_offline():
    with TestClient(app) as client, client.websocket_connect("/presence/ada") as ada:
        assert online == {"ada"}
        ada.drop()  # no close frame, as when a phone loses its signal
        assert online == set()  # the app's cleanup ran before drop() returned
        assert last_close_code["ada"] == 1006  # abnormal closure


# --8<-- [end:test]
