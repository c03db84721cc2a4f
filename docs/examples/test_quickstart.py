"""Quickstart: one FastAPI app, tested sync, async and over a WebSocket."""

# --8<-- [start:app]
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from asgitest import AsyncTestClient, TestClient

app = FastAPI()


@app.get("/hello/{name}")
async def hello(name: str) -> dict[str, str]:
    return {"message": f"hello {name}"}


@app.websocket("/shout")
async def shout(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(text.upper())
    except WebSocketDisconnect:
        pass


# --8<-- [end:app]


# --8<-- [start:sync]
def test_hello():
    with TestClient(app) as client:  # runs the app's lifespan
        response = client.get("/hello/ada")
    assert response.status_code == 200
    assert response.json() == {"message": "hello ada"}


# --8<-- [end:sync]


# --8<-- [start:anyio]
@pytest.mark.anyio
async def test_hello_async():
    async with AsyncTestClient(app) as client:  # the app runs on this test's event loop
        response = await client.get("/hello/ada")
    assert response.json() == {"message": "hello ada"}


# --8<-- [end:anyio]


# --8<-- [start:asyncio]
@pytest.mark.asyncio
async def test_hello_asyncio():
    async with AsyncTestClient(app) as client:
        response = await client.get("/hello/ada")
    assert response.json() == {"message": "hello ada"}


# --8<-- [end:asyncio]


# --8<-- [start:websocket]
def test_shout():
    with TestClient(app) as client, client.websocket_connect("/shout") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "HELLO"


@pytest.mark.anyio
async def test_shout_async():
    async with AsyncTestClient(app) as client, client.websocket_connect("/shout") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "HELLO"


# --8<-- [end:websocket]
