"""The lobby, test after test: every test has a fresh client, but the app keeps its list of sockets.

Each scenario test opens a socket, plays ping/pong, joins over HTTP and hears
about it on the socket. The tests run in a row against the same app object, so
a socket left in the app's list by one test would receive the next test's
broadcast; with asgitest every closed socket has left the list before the
session's ``with`` block ends.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from asgitest import AsyncTestClient, TestClient

from .app import app

TIMEOUT = 2  # seconds any receive may wait: a missing message fails the test, it never hangs


def joined(name: str) -> dict[str, Any]:
    return {"event": "player_joined", "name": name}


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A client used without ``with``: the app runs without its lifespan."""
    client = TestClient(app)
    yield client
    client.close()


def join_the_lobby(client: TestClient, name: str) -> None:
    with client.websocket_connect("/ws") as websocket:
        websocket.send_json({"type": "ping"})
        assert websocket.receive_json(timeout=TIMEOUT) == {"type": "pong"}

        response = client.post("/players", json={"name": name})
        assert response.status_code == 200

        assert websocket.receive_json(timeout=TIMEOUT) == joined(name)


@pytest.mark.parametrize("name", ["ada", "grace"])
def test_join_with_lifespan(name: str) -> None:
    with TestClient(app) as client:
        join_the_lobby(client, name)


@pytest.mark.parametrize("name", ["alan", "barbara"])
def test_join_without_lifespan(client: TestClient, name: str) -> None:
    join_the_lobby(client, name)


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["edsger", "frances"])
async def test_join_async(name: str) -> None:
    async with AsyncTestClient(app) as client, client.websocket_connect("/ws") as websocket:
        await websocket.send_json({"type": "ping"})
        assert await websocket.receive_json(timeout=TIMEOUT) == {"type": "pong"}

        response = await client.post("/players", json={"name": name})
        assert response.status_code == 200

        assert await websocket.receive_json(timeout=TIMEOUT) == joined(name)


def test_every_socket_hears_the_news(client: TestClient) -> None:
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws") as second:
        client.post("/players", json={"name": "hedy"}).raise_for_status()

        assert first.receive_json(timeout=TIMEOUT) == joined("hedy")
        assert second.receive_json(timeout=TIMEOUT) == joined("hedy")


def test_lifespan_state_is_visible() -> None:
    with TestClient(app) as client:
        opened_at = client.app_state["opened_at"]
        stats = client.get("/stats").json()

    assert isinstance(opened_at, datetime)
    # Python 3.10's fromisoformat does not read the "Z" that FastAPI writes for UTC.
    assert datetime.fromisoformat(stats["opened_at"].replace("Z", "+00:00")) == opened_at


def test_the_roster_empties_when_the_server_stops() -> None:
    with TestClient(app) as client:
        client.post("/players", json={"name": "katherine"}).raise_for_status()
        assert "katherine" in client.get("/players").json()

    with TestClient(app) as client:
        assert client.get("/players").json() == []


def test_the_socket_answers_simple_messages(client: TestClient) -> None:
    client.post("/players", json={"name": "margaret"}).raise_for_status()

    with client.websocket_connect("/ws") as websocket:
        websocket.send_json({"type": "players"})
        assert "margaret" in websocket.receive_json(timeout=TIMEOUT)["players"]

        websocket.send_json({"type": "dance"})
        assert websocket.receive_json(timeout=TIMEOUT) == {"type": "error", "detail": "unknown message"}


@pytest.mark.anyio
async def test_a_closed_socket_leaves_the_lobby() -> None:
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/ws"), client.websocket_connect("/ws") as websocket:
            assert (await client.get("/stats")).json()["connections"] == 2

            await websocket.close(code=1001)
            assert (await client.get("/stats")).json()["connections"] == 1

        assert (await client.get("/stats")).json()["connections"] == 0
