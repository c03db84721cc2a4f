"""The Starlette app under test, the constants its scenarios share, and a check that it ends clean."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

Message = MutableMapping[str, Any]

BASE_URL = "http://testserver"
JSON_BODY = b'{"hello":"world"}'
UPLOAD_SIZE = 64 * 1024
UPLOAD_BODY = b"x" * UPLOAD_SIZE
BROADCAST_SOCKETS = 20
SSE_EVENTS = 1000


async def event_stream() -> AsyncIterator[str]:
    """The ``/events`` body: ``SSE_EVENTS`` server-sent events, one per chunk."""
    for i in range(SSE_EVENTS):
        yield f"data: {i}\n\n"


def make_app() -> Starlette:
    """A small Starlette app; each contender gets its own, so no state is shared."""
    sockets: list[WebSocket] = []

    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    async def upload(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"length": len(body)})

    async def send_all(text: str) -> None:
        for socket in list(sockets):
            await socket.send_text(text)

    async def broadcast(request: Request) -> Response:
        text = (await request.body()).decode()
        return JSONResponse({"sockets": len(sockets)}, background=BackgroundTask(send_all, text))

    async def events(request: Request) -> Response:
        return StreamingResponse(event_stream(), media_type="text/event-stream")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    async def room(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.append(websocket)
        try:
            await websocket.send_text("ready")
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            sockets.remove(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield

    app = Starlette(
        routes=[
            Route("/json", hello),
            Route("/upload", upload, methods=["POST"]),
            Route("/broadcast", broadcast, methods=["POST"]),
            Route("/events", events),
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/room", room),
        ],
        lifespan=lifespan,
    )
    app.state.sockets = sockets
    return app


def check_no_sockets_left(app: Starlette) -> None:
    left = len(app.state.sockets)
    if left:
        print(f"warning: the app still holds {left} socket(s) after its client closed", file=sys.stderr)
