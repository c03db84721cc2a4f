"""Migrating from Starlette's / FastAPI's TestClient: the usual FastAPI patterns, only the import changed."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request, WebSocket, WebSocketDisconnect, WebSocketException, status
from fastapi.responses import JSONResponse

# isort: off
# --8<-- [start:import]
from asgitest import TestClient  # was: from fastapi.testclient import TestClient

# --8<-- [end:import]
# isort: on
from asgitest import ASGIProtocolError, WebSocketDenialResponse


# --8<-- [start:app]
def get_settings() -> dict[str, str]:
    return {"greeting": "hello"}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
    yield {"db": "connected"}


app = FastAPI(lifespan=lifespan)


@app.get("/greet/{name}")
async def greet(name: str, settings: Annotated[dict[str, str], Depends(get_settings)]) -> dict[str, str]:
    return {"message": f"{settings['greeting']} {name}"}


@app.get("/db")
async def db(request: Request) -> dict[str, str]:
    return {"db": request.state.db}


@app.get("/boom")
async def boom() -> None:
    raise ValueError("handler failed")


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    if websocket.query_params.get("token") != "ok":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="bad token")
    await websocket.accept()
    try:
        while True:
            await websocket.send_json({"echo": await websocket.receive_json()})
    except WebSocketDisconnect:
        pass


@app.websocket("/members")
async def members(websocket: WebSocket) -> None:
    await websocket.send_denial_response(JSONResponse({"detail": "members only"}, status_code=401))


# --8<-- [end:app]


# --8<-- [start:patterns]
def test_dependency_overrides():
    app.dependency_overrides[get_settings] = lambda: {"greeting": "bonjour"}
    try:
        client = TestClient(app)  # no `with`: no lifespan, as with Starlette
        assert client.get("/greet/ada").json() == {"message": "bonjour ada"}
    finally:
        app.dependency_overrides.clear()


def test_lifespan_state():
    with TestClient(app) as client:  # `with` runs the lifespan
        assert client.get("/db").json() == {"db": "connected"}


def test_websocket():
    with TestClient(app) as client, client.websocket_connect("/ws?token=ok") as ws:
        ws.send_json({"n": 1})
        assert ws.receive_json() == {"echo": {"n": 1}}


def test_websocket_refused():
    client = TestClient(app)
    with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect("/ws?token=bad"):
        pass
    assert (caught.value.code, caught.value.reason) == (1008, "bad token")


def test_websocket_denied():
    client = TestClient(app)
    with pytest.raises(WebSocketDenialResponse) as caught, client.websocket_connect("/members"):
        pass
    assert caught.value.status_code == 401
    assert caught.value.json() == {"detail": "members only"}


def test_server_errors():
    with pytest.raises(ValueError, match="handler failed"):
        TestClient(app).get("/boom")
    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500


# --8<-- [end:patterns]


# --8<-- [start:strict]
rooms = FastAPI()


@rooms.websocket("/rooms/{number}")
async def room(websocket: WebSocket, number: int) -> None:
    await websocket.accept()
    await websocket.send_json({"room": number})
    await websocket.close()


def test_a_bad_room_number_is_refused():
    # FastAPI refuses the handshake with a *list* of validation errors as the close reason.
    # Starlette's TestClient lets it through, and so does asgitest by default.
    client = TestClient(rooms)
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/rooms/seven"):
        pass
    assert refused.value.code == 1008

    # ASGI wants a str: strict=True (or --asgi-strict for a whole suite) names the broken rule.
    client = TestClient(rooms, strict=True)
    with pytest.raises(ASGIProtocolError) as caught, client.websocket_connect("/rooms/seven"):
        pass
    assert caught.value.rule == "ws-close-reason-str"


# --8<-- [end:strict]
