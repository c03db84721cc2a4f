"""Starlette: the reference framework, whose TestClient asgitest mirrors."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgitest import WebSocketDenialResponse
from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators, first

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def items(request: Request) -> JSONResponse:
    payload = await request.json()
    return JSONResponse(
        {"item": payload, "q": request.query_params.getlist("tag"), "agent": request.headers["x-agent"]},
        status_code=201,
        headers={"x-created": payload["name"]},
    )


async def form(request: Request) -> JSONResponse:
    async with request.form() as data:
        upload = data.get("doc")
        files = {upload.filename: (await upload.read()).decode()} if upload is not None else {}  # type: ignore[union-attr]
        return JSONResponse({"fields": {k: v for k, v in data.items() if isinstance(v, str)}, "files": files})


async def login(request: Request) -> Response:
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie("session", "s3cret", httponly=True)
    return response


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.cookies.get("session"), "db": getattr(request.state, "db", None)})


async def old(request: Request) -> Response:
    return RedirectResponse("/me")


async def count(request: Request) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for number in itertools.count():
            yield f"{number}\n"

    return StreamingResponse(lines(), media_type="text/plain")


async def ticks(request: Request) -> EventSourceResponse:
    async def events() -> AsyncIterator[dict[str, str]]:
        for number in itertools.count():
            yield {"event": "tick", "id": str(number), "data": f'{{"n": {number}}}'}

    return EventSourceResponse(events())


async def boom(request: Request) -> Response:
    raise Boom("handler failed")


async def echo(websocket: WebSocket) -> None:
    if websocket.query_params.get("token") != "ok":
        await websocket.send_denial_response(PlainTextResponse("bad token", status_code=401))
        return
    if websocket.query_params.get("reject"):
        await websocket.close(code=1008, reason="go away")
        return
    await websocket.accept()
    while (message := await websocket.receive())["type"] != "websocket.disconnect":
        if message.get("bytes") is not None:
            await websocket.send_bytes(message["bytes"][::-1])
        elif message["text"] == "bye":
            await websocket.close(code=4001, reason="bye")
            return
        elif message["text"].startswith("{"):
            await websocket.send_json({"echo": json.loads(message["text"])})
        else:
            await websocket.send_text(message["text"].upper())


def make_app(events: list[str] | None = None) -> Starlette:
    log = events if events is not None else []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        log.append("startup")
        yield {"db": "pool-1"}
        log.append("shutdown")

    routes = [
        Route("/items", items, methods=["POST"]),
        Route("/form", form, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/old", old),
        Route("/count", count),
        Route("/ticks", ticks),
        Route("/boom", boom),
        WebSocketRoute("/ws", echo),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    await contract.forms(make_client(make_app()))


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()), 307)
    await contract.redirects_off(make_client(make_app(), follow_redirects=False), 307)


@live.LIFESPAN
async def test_lifespan_state_reaches_requests(make_client: Any) -> None:
    events: list[str] = []
    async with make_client(make_app(events)) as client:
        assert events == ["startup"]
        assert (await client.get("/me")).json()["db"] == "pool-1"
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_websocket_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "HELLO"
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
        await ws.send_json({"n": 1})
        assert await ws.receive_json() == {"echo": {"n": 1}}
        await ws.send_text("bye")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "bye")
    await client.aclose()


@live.DENIAL
async def test_websocket_denial_response(make_client: Any) -> None:
    client = make_client(make_app())
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 401
    assert caught.value.text == "bad token"


@live.SERVER
async def test_websocket_close_before_accept(make_client: Any) -> None:
    client = make_client(make_app())
    with pytest.raises(ClientWebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws?token=ok&reject=1"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert (caught.value.code, caught.value.reason) == (1008, "go away")


@abandons_generators
async def test_endless_stream_is_read_incrementally(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.stream("GET", "/count") as response:
        assert response.headers["content-type"].startswith("text/plain")
        lines = await first(response.aiter_lines(), 20)
    await client.aclose()
    assert lines == [str(n) for n in range(20)]


@abandons_generators
async def test_server_sent_events(make_client: Any) -> None:
    await contract.endless_events(make_client(make_app()))


@live.RAISE
async def test_handler_exception_reaches_the_test_or_is_a_500(make_client: Any) -> None:
    response = await contract.handler_error(make_client, make_app, Boom)
    assert response.text == "Internal Server Error"
