"""Raw ASGI: an ASGI 3 app with no framework, and an ASGI 2 (double-callable) app, which asgitest accepts too."""

from __future__ import annotations

import itertools
import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import pytest

from asgitest import Receive, Scope, Send, WebSocketDenialResponse
from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from ..apps import read_body, send_json
from . import _contract as contract
from ._helpers import abandons_generators

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    if scope["query_string"] != b"token=ok":
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"bad token"})
        return
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"][::-1]})
        elif message["text"] == "bye":
            await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
            return
        else:
            await send({"type": "websocket.send", "text": json.dumps({"echo": json.loads(message["text"])})})


async def stream(send: Send, content_type: bytes, chunks: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})


async def http(scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    headers = dict(scope["headers"])
    path = scope["path"]
    if path == "/items":
        item = json.loads(body)
        query = parse_qs(scope["query_string"].decode())
        payload = {"item": item, "q": query["tag"], "agent": headers[b"x-agent"].decode()}
        await send_json(send, payload, status=201, headers=[(b"x-created", item["name"].encode())])
    elif path == "/form":
        assert headers[b"content-type"] == b"application/x-www-form-urlencoded"
        await send_json(send, {k: v[0] for k, v in parse_qs(body.decode()).items()})
    elif path in {"/login", "/old"}:
        cookie = [(b"set-cookie", b"session=s3cret; Path=/; HttpOnly")] if path == "/login" else []
        status = 303 if path == "/login" else 307
        await send({"type": "http.response.start", "status": status, "headers": [(b"location", b"/me"), *cookie]})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/me":
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode())
        session = cookies["session"].value if "session" in cookies else None
        await send_json(send, {"session": session, "db": scope.get("state", {}).get("db")})
    elif path == "/count":
        await stream(send, b"text/plain", (f"{n}\n" for n in itertools.count()))
    elif path == "/ticks":
        events = (f'event: tick\nid: {n}\ndata: {{"n": {n}}}\n\n' for n in itertools.count())
        await stream(send, b"text/event-stream", events)
    else:
        raise Boom("handler failed")


def make_app(events: list[str] | None = None) -> Any:
    log = events if events is not None else []

    async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "lifespan.shutdown":
            log.append("startup")
            scope["state"]["db"] = "pool-1"
            await send({"type": "lifespan.startup.complete"})
        log.append("shutdown")
        await send({"type": "lifespan.shutdown.complete"})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await {"lifespan": lifespan, "websocket": websocket, "http": http}[scope["type"]](scope, receive, send)

    return app


class Legacy:
    """An ASGI 2 app: instantiated with the scope, then called with receive and send."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "lifespan":
            await receive()
            self.scope["state"]["legacy"] = True
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        elif self.scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            await send({"type": "websocket.send", "text": message["text"][::-1]})
            await send({"type": "websocket.close", "code": 4002})
        else:
            body = await read_body(receive)
            await send_json(send, {"path": self.scope["path"], "body": body.decode(), "state": self.scope["state"]})


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


async def test_urlencoded_form(make_client: Any) -> None:
    client = make_client(make_app())
    response = await client.post("/form", data={"title": "notes", "tags": "x y"})
    await client.aclose()
    assert response.json() == {"title": "notes", "tags": "x y"}


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()), 307)


@live.LIFESPAN
async def test_lifespan_state_reaches_requests(make_client: Any) -> None:
    await contract.lifespan_state(make_client, make_app)


async def test_websocket_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_json({"n": 1})
        assert await ws.receive_json() == {"echo": {"n": 1}}
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
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
    assert (caught.value.status_code, caught.value.text) == (401, "bad token")


@abandons_generators
async def test_endless_stream_is_read_incrementally(make_client: Any) -> None:
    await contract.endless_stream(make_client(make_app()))


@abandons_generators
async def test_server_sent_events(make_client: Any) -> None:
    await contract.endless_events(make_client(make_app()))


@live.RAISE
async def test_handler_exception_reaches_the_test_or_is_a_500(make_client: Any) -> None:
    await contract.handler_error(make_client, make_app, Boom)


async def test_asgi2_app_http_websocket_and_lifespan(make_client: Any) -> None:
    async with make_client(Legacy) as client:
        response = await client.post("/legacy", content=b"old style")
        assert response.json() == {"path": "/legacy", "body": "old style", "state": {"legacy": True}}
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("abc")
            assert await ws.receive_text() == "cba"
            with pytest.raises(ClientWebSocketDisconnect) as caught:
                await ws.receive_text()
            assert caught.value.code == 4002
