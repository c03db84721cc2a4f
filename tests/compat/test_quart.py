"""Quart: Flask's API on asyncio, with its own ASGI layer (no Starlette)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Blueprint, Quart, Response, abort, current_app, redirect, request, websocket

from asgitest import WebSocketDenialResponse
from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Quart is asyncio-only: it calls asyncio directly for each request; on trio the first request fails
    ("There is no current event loop")."""
    return str(request.param)


class Boom(Exception):
    pass


shop = Blueprint("shop", __name__)


@shop.post("/items")
async def create() -> Any:
    payload = await request.get_json()
    body = {"item": payload, "q": request.args.getlist("tag"), "agent": request.headers["X-Agent"]}
    return body, 201, {"x-created": payload["name"]}


@shop.post("/form")
async def form() -> Any:
    fields, files = await request.form, await request.files
    return {"fields": fields.to_dict(), "files": {f.filename: f.read().decode() for f in files.values()}}


@shop.post("/login")
async def login() -> Any:
    response = redirect("/me", code=303)
    response.set_cookie("session", "s3cret", httponly=True)
    return response


@shop.get("/me")
async def me() -> Any:
    return {"session": request.cookies.get("session"), "db": current_app.config.get("DB")}


@shop.get("/old")
async def old() -> Any:
    return redirect("/me")


@shop.get("/count")
async def count() -> Response:
    async def lines() -> AsyncIterator[bytes]:
        for number in itertools.count():
            yield f"{number}\n".encode()

    return Response(lines(), mimetype="text/plain")


@shop.get("/ticks")
async def ticks() -> Response:
    async def events() -> AsyncIterator[bytes]:
        for number in itertools.count():
            yield f'event: tick\nid: {number}\ndata: {{"n": {number}}}\n\n'.encode()

    return Response(events(), mimetype="text/event-stream")


@shop.get("/boom")
async def boom() -> Any:
    raise Boom("handler failed")


@shop.websocket("/ws")
async def echo() -> None:
    if websocket.args.get("token") != "ok":
        abort(401)
    await websocket.accept()
    while True:
        data = await websocket.receive()
        if isinstance(data, bytes):
            await websocket.send(data[::-1])
        elif data == "bye":
            await websocket.close(4001, "bye")
            return
        elif data == "crash":
            raise Boom("socket handler failed")
        else:
            await websocket.send_json({"echo": data})


def make_app(events: list[str] | None = None) -> Quart:
    log = events if events is not None else []
    app = Quart(__name__)

    @app.before_serving
    async def startup() -> None:
        log.append("startup")
        app.config["DB"] = "pool-1"

    @app.after_serving
    async def shutdown() -> None:
        log.append("shutdown")

    app.register_blueprint(shop)
    return app


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    await contract.forms(make_client(make_app()))


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()))


@live.LIFESPAN
async def test_before_and_after_serving_run_once(make_client: Any) -> None:
    events: list[str] = []
    async with make_client(make_app(events)) as client:
        assert events == ["startup"]
        assert (await client.get("/me")).json()["db"] == "pool-1"
        assert (await client.get("/me")).json()["db"] == "pool-1"
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_websocket_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("hello")
        assert await ws.receive_json() == {"echo": "hello"}
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
        await ws.send_text("bye")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "bye")
    await client.aclose()


@live.DENIAL
async def test_abort_before_accept_is_an_http_denial(make_client: Any) -> None:
    """Quirk: abort() before accept answers the handshake with an HTTP response (the denial extension)."""
    client = make_client(make_app())
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert caught.value.status_code == 401
    assert "Unauthorized" in caught.value.text


async def test_websocket_handler_exception_is_a_normal_close(make_client: Any) -> None:
    """Quirk: Quart logs an exception in a WebSocket handler and closes with 1000, not 1011; the test
    never sees the exception, whatever raise_server_exceptions says."""
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("crash")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert caught.value.code == 1000
    await client.aclose()


@abandons_generators
async def test_endless_stream_is_read_incrementally(make_client: Any) -> None:
    await contract.endless_stream(make_client(make_app()))


@abandons_generators
async def test_server_sent_events(make_client: Any) -> None:
    await contract.endless_events(make_client(make_app()))


async def test_handler_exception_is_always_a_500(make_client: Any) -> None:
    """Quirk: Quart handles a handler's exception itself (logs it, answers its 500 page), so
    raise_server_exceptions=True has nothing to raise."""
    for raise_server_exceptions in (True, False):
        client = make_client(make_app(), raise_server_exceptions=raise_server_exceptions)
        response = await client.get("/boom")
        await client.aclose()
        assert response.status_code == 500
        assert "Internal Server Error" in response.text
