"""Asserting that nothing arrives: a private message reaches its recipient and no one else."""

# --8<-- [start:app]
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgitest import AsyncTestClient, TestClient, UnexpectedMessage

app = FastAPI()
rooms: dict[str, WebSocket] = {}


@app.websocket("/chat/{name}")
async def chat(websocket: WebSocket, name: str) -> None:
    await websocket.accept()
    rooms[name] = websocket
    try:
        while True:
            message = await websocket.receive_json()
            recipient = rooms.get(message["to"])
            if recipient is not None:
                await recipient.send_json({"from": name, "text": message["text"]})
    except WebSocketDisconnect:
        del rooms[name]


# --8<-- [end:app]


# --8<-- [start:sync]
def test_a_private_message_reaches_only_its_recipient():
    with (
        TestClient(app) as client,
        client.websocket_connect("/chat/ada") as ada,
        client.websocket_connect("/chat/bob") as bob,
        client.websocket_connect("/chat/cyd") as cyd,
    ):
        ada.send_json({"to": "cyd", "text": "psst"})
        assert cyd.receive_json(timeout=2) == {"from": "ada", "text": "psst"}
        bob.expect_nothing(within=0.2)  # returns after 0.2 s of silence
        ada.expect_nothing(within=0.2)


def test_a_message_that_comes_fails_the_assertion_and_stays_queued():
    with TestClient(app) as client, client.websocket_connect("/chat/ada") as ada:
        ada.send_json({"to": "ada", "text": "note to self"})
        with pytest.raises(UnexpectedMessage, match="note to self"):
            ada.expect_nothing(within=0.2)
        assert ada.receive_json() == {"from": "ada", "text": "note to self"}


# --8<-- [end:sync]


# --8<-- [start:async]
@pytest.mark.anyio
async def test_a_private_message_reaches_only_its_recipient_async():
    async with (
        AsyncTestClient(app) as client,
        client.websocket_connect("/chat/ada") as ada,
        client.websocket_connect("/chat/bob") as bob,
        client.websocket_connect("/chat/cyd") as cyd,
    ):
        await ada.send_json({"to": "cyd", "text": "psst"})
        assert await cyd.receive_json(timeout=2) == {"from": "ada", "text": "psst"}
        await bob.expect_nothing(within=0.2)


# --8<-- [end:async]
