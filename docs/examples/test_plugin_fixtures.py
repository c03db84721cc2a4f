"""The pytest plugin: an `app` fixture, and the client fixtures built from it."""

# --8<-- [start:fixtures]
import pytest
from fastapi import FastAPI, WebSocket


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def home() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/feed")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"hello": "world"})
        await websocket.close()

    return app


@pytest.fixture
def app():
    return create_app()


def test_home(asgi_client):  # a TestClient, lifespan running, closed at teardown
    assert asgi_client.get("/").json() == {"status": "ok"}


@pytest.mark.anyio  # or @pytest.mark.asyncio with pytest-asyncio
async def test_feed(async_asgi_client):  # an AsyncTestClient on the test's own loop
    async with async_asgi_client.websocket_connect("/feed") as ws:
        assert await ws.receive_json() == {"hello": "world"}


# --8<-- [end:fixtures]


# --8<-- [start:options]
@pytest.fixture
def asgi_client_options(asgi_client_options):
    """The plugin's options (timeout, grace period, strictness), plus a header for every request."""
    return {**asgi_client_options, "headers": {"authorization": "Bearer test-token"}}


# --8<-- [end:options]


def test_the_options_fixture_adds_a_header(asgi_client):
    assert asgi_client.headers["authorization"] == "Bearer test-token"
