"""Falcon: resource classes on falcon.asgi.App, with its own media handling and WebSocket API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import falcon
import falcon.asgi
import pytest

from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators, base_url_host, upload

pytestmark = pytest.mark.anyio

#: Falcon's HTTP path runs on trio, but its WebSocket and SSE support call asyncio directly
#: (``asyncio.get_running_loop()``): those tests run on asyncio only (see test_websockets_need_asyncio).
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


class Boom(Exception):
    pass


class Database:
    """Lifespan middleware: opens the 'pool' at startup, closes it at shutdown."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.pool: str | None = None

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        self.events.append("startup")
        self.pool = "pool-1"

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        self.events.append("shutdown")


class Shop:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def on_post_items(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        item = await req.get_media()
        resp.status = falcon.HTTP_201
        resp.set_header("X-Created", item["name"])
        resp.media = {"item": item, "q": req.get_param_as_list("tag"), "agent": req.get_header("x-agent")}

    async def on_post_form(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = await req.get_media()

    async def on_post_upload(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        fields, files = {}, {}
        async for part in await req.get_media():
            if part.filename:
                files[part.filename] = (await part.get_data()).decode()
            else:
                fields[part.name] = await part.get_text()
        resp.media = {"fields": fields, "files": files}

    async def on_post_login(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        secure = req.get_param_as_bool("secure") or False
        resp.set_cookie("session", "s3cret", secure=secure, http_only=True)
        raise falcon.HTTPSeeOther("/me", headers=resp.headers)

    async def on_get_me(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"session": req.cookies.get("session"), "db": self.db.pool}

    async def on_get_old(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise falcon.HTTPFound("/me")

    async def on_get_count(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        async def lines() -> AsyncIterator[bytes]:
            for number in itertools.count():
                yield f"{number}\n".encode()

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = lines()

    async def on_get_ticks(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        async def events() -> AsyncIterator[falcon.asgi.SSEvent]:
            for number in itertools.count():
                yield falcon.asgi.SSEvent(event="tick", event_id=str(number), json={"n": number})

        resp.sse = events()

    async def on_get_boom(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise Boom("handler failed")

    async def on_websocket_ws(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        if req.get_param("token") != "ok":
            raise falcon.HTTPUnauthorized(description="bad token")
        await ws.accept()
        try:
            while True:
                message = await ws.receive_data() if req.get_param("binary") else await ws.receive_text()
                if isinstance(message, bytes):
                    await ws.send_data(message[::-1])
                elif message == "bye":
                    await ws.close(4001)
                    return
                elif message == "crash":
                    raise Boom("socket handler failed")
                else:
                    await ws.send_media({"echo": message})
        except falcon.WebSocketDisconnected:
            return


def make_app(events: list[str] | None = None) -> falcon.asgi.App:
    db = Database(events if events is not None else [])
    app = falcon.asgi.App(middleware=[db])
    shop = Shop(db)
    for name in ("items", "form", "upload", "login", "me", "old", "count", "ticks", "boom", "ws"):
        app.add_route(f"/{name}", shop, suffix=name)
    return app


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


# Falcon's multipart reader leaves an async generator unfinished (BufferedReader._iter_with_buffer); trio
# warns when it is collected, asyncio finalizes it quietly. Falcon's, not the test's: allow it here.
@pytest.mark.filterwarnings(
    r"ignore:Async generator 'falcon\.asgi\.reader\.BufferedReader\._iter_with_buffer':ResourceWarning"
)
async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    client = make_client(make_app())
    encoded = await client.post("/form", data={"title": "notes", "tags": "x"})
    multipart = await client.post("/upload", **upload())
    await client.aclose()
    assert encoded.json() == {"title": "notes", "tags": "x"}
    assert multipart.json() == {"fields": {"title": "notes"}, "files": {"notes.txt": "line 1\nline 2\n"}}


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()))


@base_url_host
async def test_cookies_are_secure_by_default(make_client: Any) -> None:
    """Quirk: Falcon's set_cookie() defaults to Secure, so the jar does not send the cookie back to
    http://testserver; use an https base_url (or secure=False in the app)."""
    client = make_client(make_app())
    response = await client.post("/login", params={"secure": True})
    await client.aclose()
    assert "Secure" in response.history[0].headers["set-cookie"]
    assert response.json()["session"] is None

    client = make_client(make_app(), base_url="https://testserver")
    assert (await client.post("/login", params={"secure": True})).json()["session"] == "s3cret"
    await client.aclose()


@live.LIFESPAN
async def test_lifespan_middleware_runs_once(make_client: Any) -> None:
    await contract.lifespan_state(make_client, make_app)


@asyncio_only
async def test_websocket_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("hello")
        assert await ws.receive_json() == {"echo": "hello"}
        await ws.send_text("bye")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert caught.value.code == 4001
    async with client.websocket_connect("/ws?token=ok&binary=1") as ws:
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
    await client.aclose()


@live.SERVER
@asyncio_only
async def test_http_error_before_accept_closes_with_3000_plus_status(make_client: Any) -> None:
    """Quirk: an HTTPError raised before accept is not an HTTP denial: Falcon closes the handshake with
    3000 + the status (401 -> 3401) and the status phrase as reason."""
    client = make_client(make_app())
    with pytest.raises(ClientWebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert (caught.value.code, caught.value.reason) == (3401, "Unauthorized")


@asyncio_only
async def test_websocket_handler_exception_is_a_1011_close(make_client: Any) -> None:
    """Quirk: Falcon logs an exception in a WebSocket handler and closes with 1011; it never reaches the test."""
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("crash")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (1011, "Internal Server Error")
    await client.aclose()


@live.LOOP
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_websockets_need_asyncio(make_client: Any) -> None:
    """Quirk: on trio, Falcon's WebSocket support fails before the handshake: it calls asyncio itself."""
    client = make_client(make_app())
    with pytest.raises(RuntimeError, match="no running event loop"):
        async with client.websocket_connect("/ws?token=ok"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()


@abandons_generators
async def test_endless_stream_is_read_incrementally(make_client: Any) -> None:
    await contract.endless_stream(make_client(make_app()))


@abandons_generators
@asyncio_only
async def test_server_sent_events(make_client: Any) -> None:
    await contract.endless_events(make_client(make_app()))


async def test_handler_exception_is_always_a_500(make_client: Any) -> None:
    """Quirk: Falcon's default error handler turns any handler exception into its JSON 500 (and logs it),
    so raise_server_exceptions=True has nothing to raise."""
    for raise_server_exceptions in (True, False):
        client = make_client(make_app(), raise_server_exceptions=raise_server_exceptions)
        response = await client.get("/boom")
        await client.aclose()
        assert response.status_code == 500
        assert response.json() == {"title": "500 Internal Server Error"}
