"""The lobby: players join over HTTP, and every open WebSocket hears about it.

The open sockets live in a module-level :class:`ConnectionManager`, as in
FastAPI's WebSocket documentation, so they outlive any one client: a socket
that a test leaves in the list is still there in the next test. The roster of
players lives beside it, so the app works with or without a lifespan; the
lifespan records when the lobby opened (lifespan state, shown by ``/stats``)
and empties the roster when the server stops.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, TypedDict

import anyio
from fastapi import BackgroundTasks, FastAPI, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel


class ConnectionManager:
    """The WebSockets open on the lobby."""

    def __init__(self) -> None:
        self.active: list[WebSocket] = []

    def __len__(self) -> int:
        return len(self.active)

    async def connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active.append(websocket)

    async def disconnect(self, websocket: WebSocket) -> None:
        await record_departure()  # real apps await here: a presence store, a pub/sub unsubscribe
        self.active.remove(websocket)

    async def broadcast(self, message: dict[str, Any]) -> None:
        for websocket in list(self.active):
            await websocket.send_json(message)


class Player(BaseModel):
    name: str


class LobbyState(TypedDict):
    opened_at: datetime


async def record_departure() -> None:
    """Stands in for an awaited write to a presence store (Redis, a database)."""
    await anyio.sleep(0.01)


manager = ConnectionManager()
players: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[LobbyState]:
    """Open the lobby; when the server stops, everyone leaves."""
    yield {"opened_at": datetime.now(timezone.utc)}
    players.clear()


app = FastAPI(title="The lobby", lifespan=lifespan)


@app.get("/players")
async def list_players() -> list[str]:
    return players


@app.post("/players")
async def join(player: Player, background_tasks: BackgroundTasks) -> Player:
    """Add a player; every open socket is told once the response is sent."""
    players.append(player.name)
    background_tasks.add_task(manager.broadcast, {"event": "player_joined", "name": player.name})
    return player


@app.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Counts, and when the lobby opened (from the lifespan state, so only under a lifespan)."""
    return {"players": len(players), "connections": len(manager), "opened_at": request.state.opened_at}


def reply(message: Any) -> dict[str, Any]:
    """The answer to one message from a socket."""
    match message:
        case {"type": "ping"}:
            return {"type": "pong"}
        case {"type": "players"}:
            return {"type": "players", "players": players}
        case _:
            return {"type": "error", "detail": "unknown message"}


@app.websocket("/ws")
async def lobby_socket(websocket: WebSocket) -> None:
    await manager.connect(websocket)
    try:
        while True:
            await websocket.send_json(reply(await websocket.receive_json()))
    except WebSocketDisconnect:
        await manager.disconnect(websocket)
