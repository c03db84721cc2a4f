"""Many users: a chat between three users, each a client with a cookie jar of their own."""

# --8<-- [start:app]
import pytest
from fastapi import Cookie, FastAPI, Response, WebSocket, WebSocketDisconnect


def create_app() -> FastAPI:
    app = FastAPI()
    members: dict[str, WebSocket] = {}  # the room: one socket per signed-in user

    @app.post("/login/{name}")
    async def login(name: str, response: Response) -> dict[str, str]:
        response.set_cookie("user", name)
        return {"user": name}

    @app.websocket("/room")
    async def room(websocket: WebSocket, user: str = Cookie()) -> None:
        await websocket.accept()
        members[user] = websocket
        try:
            while True:
                text = await websocket.receive_text()
                for name, member in list(members.items()):
                    if name != user:
                        await member.send_json({"from": user, "text": text})
        except WebSocketDisconnect:
            del members[user]

    return app


@pytest.fixture
def app():
    return create_app()


# --8<-- [end:app]


# --8<-- [start:sync]
def test_a_chat_between_three_users(asgi_client, asgi_client_factory):
    ada, bob, cyd = asgi_client, asgi_client_factory(), asgi_client_factory()
    for name, user in [("ada", ada), ("bob", bob), ("cyd", cyd)]:
        user.post(f"/login/{name}")  # each client keeps its own cookie

    with (
        ada.websocket_connect("/room") as ada_ws,
        bob.websocket_connect("/room") as bob_ws,
        cyd.websocket_connect("/room") as cyd_ws,
    ):
        bob_ws.send_text("hi all")
        assert ada_ws.receive_json(timeout=2) == {"from": "bob", "text": "hi all"}
        assert cyd_ws.receive_json(timeout=2) == {"from": "bob", "text": "hi all"}
        bob_ws.expect_nothing(within=0.1)  # no echo to the sender


# --8<-- [end:sync]


# --8<-- [start:async]
@pytest.mark.anyio
async def test_a_chat_between_three_users_async(async_asgi_client, async_asgi_client_factory):
    ada, bob, cyd = async_asgi_client, async_asgi_client_factory(), async_asgi_client_factory()
    for name, user in [("ada", ada), ("bob", bob), ("cyd", cyd)]:
        await user.post(f"/login/{name}")

    async with (
        ada.websocket_connect("/room") as ada_ws,
        bob.websocket_connect("/room") as bob_ws,
        cyd.websocket_connect("/room") as cyd_ws,
    ):
        await cyd_ws.send_text("hello")
        assert await ada_ws.receive_json(timeout=2) == {"from": "cyd", "text": "hello"}
        assert await bob_ws.receive_json(timeout=2) == {"from": "cyd", "text": "hello"}


# --8<-- [end:async]
