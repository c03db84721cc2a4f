"""Migrating from httpx's ASGITransport, httpx-ws and asgi-lifespan: one client does all three."""

# --8<-- [start:app]
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import StreamingResponse

from asgitest import AsyncTestClient


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
    yield {"region": "eu-west"}


app = FastAPI(lifespan=lifespan)


@app.get("/region")
async def region(request: Request) -> dict[str, str]:
    return {"region": request.state.region}


@app.get("/events")
async def events() -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        for number in range(3):
            yield f"data: {number}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(await websocket.receive_json())
    await websocket.close()


# --8<-- [end:app]


# --8<-- [start:test]
@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:
    # Was: LifespanManager(app) + AsyncClient(transport=ASGITransport(app=manager.app))
    async with AsyncTestClient(app) as client:
        yield client


@pytest.mark.anyio
async def test_http_lifespan_state(client: AsyncTestClient):
    assert (await client.get("/region")).json() == {"region": "eu-west"}


@pytest.mark.anyio
async def test_websocket(client: AsyncTestClient):
    # Was: async with aconnect_ws("/ws", client) as ws (httpx-ws's ASGIWebSocketTransport)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_json({"ping": 1})
        assert await ws.receive_json() == {"ping": 1}


@pytest.mark.anyio
async def test_server_sent_events(client: AsyncTestClient):
    # Was: async with aconnect_sse(client, "GET", "/events") as source (httpx-sse)
    async with client.sse("/events") as source:
        assert [event.data async for event in source] == ["0", "1", "2"]


# --8<-- [end:test]
