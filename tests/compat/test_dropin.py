"""Drop-in for Starlette's TestClient: FastAPI's usage patterns, run with both clients.

Each test is written the way a FastAPI project writes it against
``fastapi.testclient.TestClient`` and runs twice: with that client and with
``asgitest.TestClient``, only the import changed. What the test observes must be
the same. (The deliberate differences are tested where they are documented.)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import fastapi.testclient
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect, WebSocketException, status
from starlette.testclient import WebSocketDenialResponse

import asgitest

pytestmark = pytest.mark.parametrize(
    "TestClient", [fastapi.testclient.TestClient, asgitest.TestClient], ids=["starlette", "asgitest"]
)


class Boom(Exception):
    pass


def settings() -> dict[str, str]:
    return {"greeting": "hello"}


def make_app(events: list[str]) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"pool": "connected"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/greet/{name}")
    async def greet(name: str, config: Annotated[dict[str, str], Depends(settings)]) -> dict[str, str]:
        return {"message": f"{config['greeting']} {name}"}

    @app.get("/pool")
    async def pool(request: Request) -> dict[str, Any]:
        return {"pool": getattr(request.state, "pool", None)}

    @app.get("/boom")
    async def boom() -> None:
        raise Boom("handler failed")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418, detail="short and stout")

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        if websocket.query_params.get("token") != "ok":
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="bad token")
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"echo": data})
        except WebSocketDisconnect:
            events.append("ws gone")

    @app.websocket("/deny")
    async def deny(websocket: WebSocket) -> None:
        await websocket.send_denial_response(
            fastapi.responses.JSONResponse({"detail": "members only"}, status_code=401)
        )

    @app.websocket("/crash")
    async def crash(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        raise Boom("socket handler failed")

    return app


def test_without_with_no_lifespan(TestClient: Any) -> None:
    events: list[str] = []
    client = TestClient(make_app(events))
    assert client.get("/greet/ada").json() == {"message": "hello ada"}
    assert client.get("/pool").json() == {"pool": None}
    assert events == []


def test_with_runs_the_lifespan_and_its_state(TestClient: Any) -> None:
    events: list[str] = []
    with TestClient(make_app(events)) as client:
        assert events == ["startup"]
        assert client.get("/pool").json() == {"pool": "connected"}
    assert events == ["startup", "shutdown"]


def test_dependency_overrides(TestClient: Any) -> None:
    app = make_app([])
    app.dependency_overrides[settings] = lambda: {"greeting": "bonjour"}
    client = TestClient(app)
    assert client.get("/greet/ada").json() == {"message": "bonjour ada"}
    app.dependency_overrides.clear()
    assert client.get("/greet/ada").json() == {"message": "hello ada"}


def test_http_exceptions_and_raise_server_exceptions(TestClient: Any) -> None:
    app = make_app([])
    client = TestClient(app)
    teapot = client.get("/teapot")
    assert (teapot.status_code, teapot.json()) == (418, {"detail": "short and stout"})
    with pytest.raises(Boom, match="handler failed"):
        client.get("/boom")
    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_websocket_connect_json_and_disconnect(TestClient: Any) -> None:
    events: list[str] = []
    with TestClient(make_app(events)) as client:
        with client.websocket_connect("/ws?token=ok") as ws:
            ws.send_json({"n": 1})
            assert ws.receive_json() == {"echo": {"n": 1}}
        assert events == ["startup", "ws gone"]


def test_websocket_rejected_in_the_handshake(TestClient: Any) -> None:
    client = TestClient(make_app([]))
    with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect("/ws?token=bad"):
        pytest.fail("the handshake must fail")  # pragma: no cover
    assert (caught.value.code, caught.value.reason) == (1008, "bad token")


def test_websocket_denial_response(TestClient: Any) -> None:
    client = TestClient(make_app([]))
    with pytest.raises(WebSocketDenialResponse) as caught, client.websocket_connect("/deny"):
        pytest.fail("the handshake must fail")  # pragma: no cover
    assert caught.value.status_code == 401
    assert caught.value.json() == {"detail": "members only"}


def test_websocket_handler_exception(TestClient: Any) -> None:
    client = TestClient(make_app([]))
    with pytest.raises(Boom, match="socket handler failed"), client.websocket_connect("/crash") as ws:
        ws.send_text("go")
        ws.receive_text()
