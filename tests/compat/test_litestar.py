"""Litestar: its own routing, DI and exception middleware on anyio."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from litestar import Litestar, Response, WebSocket, get, post, websocket
from litestar.datastructures import Cookie, State, UploadFile
from litestar.exceptions import WebSocketDisconnect, WebSocketException
from litestar.params import CookieParameter, FromQuery, HeaderParameter, JSONBody, MultipartBody, URLEncodedBody
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Stream

from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators, first, send_after_disconnect, upload

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


@dataclass
class Item:
    name: str
    price: float


@dataclass
class Upload:
    title: str
    doc: UploadFile


@post("/items", status_code=201)
async def create(
    data: JSONBody[Item], tag: FromQuery[list[str]], x_agent: Annotated[str, HeaderParameter(name="x-agent")]
) -> Response[dict[str, Any]]:
    body = {"item": {"name": data.name, "price": data.price}, "q": tag, "agent": x_agent}
    return Response(body, status_code=201, headers={"x-created": data.name})


@post("/form")
async def form(data: URLEncodedBody[dict[str, str]]) -> dict[str, str]:
    return data


@post("/upload")
async def upload_file(data: MultipartBody[Upload]) -> dict[str, str]:
    return {"title": data.title, "name": data.doc.filename, "content": (await data.doc.read()).decode()}


@post("/login")
async def login() -> Redirect:
    return Redirect("/me", status_code=303, cookies=[Cookie(key="session", value="s3cret", httponly=True)])


@get("/me")
async def me(state: State, session: Annotated[str | None, CookieParameter(name="session")] = None) -> dict[str, Any]:
    return {"session": session, "db": state.get("db")}


@get("/old")
async def old() -> Redirect:
    return Redirect("/me")


@get("/count")
async def count(limit: FromQuery[int | None] = None) -> Stream:
    async def lines() -> AsyncIterator[str]:
        for number in itertools.count() if limit is None else range(limit):
            yield f"{number}\n"

    return Stream(lines(), media_type="text/plain")


@get("/ticks")
async def ticks(limit: FromQuery[int | None] = None) -> ServerSentEvent:
    async def events() -> AsyncIterator[ServerSentEventMessage]:
        for number in itertools.count() if limit is None else range(limit):
            yield ServerSentEventMessage(event="tick", id=str(number), data=f'{{"n": {number}}}')

    return ServerSentEvent(events())


@get("/boom")
async def boom() -> None:
    raise Boom("handler failed")


@websocket("/ws")
async def echo(socket: WebSocket[Any, Any, Any]) -> None:
    if socket.query_params.get("token") != "ok":
        raise WebSocketException(detail="bad token", code=4401)
    await socket.accept()
    try:
        while True:
            message = await socket.receive_data(mode="text")
            if message == "bye":
                await socket.close(code=4001, reason="bye")
                return
            if message == "crash":
                raise Boom("socket handler failed")
            await socket.send_json({"echo": message})
    except WebSocketDisconnect:
        return


@websocket("/bytes")
async def reverse(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_bytes((await socket.receive_bytes())[::-1])
    await socket.close()


def make_app(events: list[str] | None = None) -> Litestar:
    log = events if events is not None else []

    @contextlib.asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        log.append("startup")
        app.state.db = "pool-1"
        yield
        log.append("shutdown")

    handlers = [create, form, upload_file, login, me, old, count, ticks, boom, echo, reverse]
    return Litestar(handlers, lifespan=[pool])


async def test_json_query_and_headers(make_client: Any) -> None:
    client = make_client(make_app())
    response = await client.post(
        "/items", json={"name": "pen", "price": 1.5}, params={"tag": ["a", "b"]}, headers={"X-Agent": "probe"}
    )
    invalid = await client.post("/items", json={"name": "pen"}, params={"tag": "a"}, headers={"X-Agent": "probe"})
    await client.aclose()
    assert response.status_code == 201
    assert response.headers["x-created"] == "pen"
    assert response.json() == {"item": {"name": "pen", "price": 1.5}, "q": ["a", "b"], "agent": "probe"}
    assert invalid.status_code == 400


async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    client = make_client(make_app())
    encoded = await client.post("/form", data={"title": "notes", "tags": "x"})
    multipart = await client.post("/upload", **upload())
    await client.aclose()
    assert encoded.json() == {"title": "notes", "tags": "x"}
    assert multipart.json() == {"title": "notes", "name": "notes.txt", "content": "line 1\nline 2\n"}


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()))  # Litestar's default: 302
    followed = await contract.redirects_off(make_client(make_app(), follow_redirects=False))
    assert followed.json()["session"] is None


@live.LIFESPAN
async def test_lifespan_state_reaches_requests(make_client: Any) -> None:
    await contract.lifespan_state(make_client, make_app)


async def test_websocket_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("hello")
        assert await ws.receive_json() == {"echo": "hello"}
        await ws.send_text("bye")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "bye")
    async with client.websocket_connect("/bytes") as ws:
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
    await client.aclose()


@live.SERVER
async def test_websocket_exception_before_accept_closes_with_its_code(make_client: Any) -> None:
    """Quirk: a WebSocketException raised before accept becomes a close with its own code and detail."""
    client = make_client(make_app())
    with pytest.raises(ClientWebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert (caught.value.code, caught.value.reason) == (4401, "bad token")


async def test_websocket_handler_exception_is_a_4500_close(make_client: Any) -> None:
    """Quirk: Litestar catches an exception in a WebSocket handler and closes with 4500 (4000 + HTTP 500),
    not 1011; the exception never reaches the test, whatever raise_server_exceptions says."""
    client = make_client(make_app())
    async with client.websocket_connect("/ws?token=ok") as ws:
        await ws.send_text("crash")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_text()
        assert (caught.value.code, caught.value.reason) == (4500, "Internal Server Error")
    await client.aclose()


async def test_stream_and_server_sent_events(make_client: Any) -> None:
    await contract.finite_stream_and_events(make_client(make_app()))


#: Litestar wraps the ClientDisconnected its stream's next send raises in a LitestarException ("Exception
#: caught after response started" ... from the OSError): asgitest follows __cause__ and takes it for the
#: app's way out. uvicorn drops sends after a disconnect: live, no error at all.
@send_after_disconnect
@abandons_generators
@pytest.mark.parametrize(
    ("path", "expected"), [("/count", ["0", "1", "2"]), ("/ticks", ["id: 0", "event: tick", 'data: {"n": 0}'])]
)
async def test_leaving_an_endless_stream_early(make_client: Any, path: str, expected: list[str]) -> None:
    client = make_client(make_app())
    async with client.stream("GET", path) as response:
        lines = await first(response.aiter_lines(), 3)
    assert lines == expected
    await client.aclose()


async def test_handler_exception_is_always_a_500(make_client: Any) -> None:
    """Quirk: Litestar's exception middleware turns any handler exception into its JSON 500 and does not
    re-raise, so raise_server_exceptions=True (the default) has nothing to raise."""
    for raise_server_exceptions in (True, False):
        client = make_client(make_app(), raise_server_exceptions=raise_server_exceptions)
        response = await client.get("/boom")
        await client.aclose()
        assert response.status_code == 500
        assert response.json() == {"status_code": 500, "detail": "Internal Server Error"}
