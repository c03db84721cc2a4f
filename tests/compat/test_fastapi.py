"""FastAPI: Starlette underneath, plus validation, dependencies and its own SSE."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import (
    APIRouter,
    Cookie,
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    Query,
    Request,
    Response,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)
from fastapi.responses import RedirectResponse, StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from asgitest import ASGIProtocolError
from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators, collect, first, upload

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


class Item(BaseModel):
    name: str
    price: float


async def token(websocket: WebSocket) -> str:
    """A WebSocket dependency; at module level, since annotations are resolved in the module's globals."""
    value = websocket.query_params.get("token")
    if value != "ok":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="bad token")
    return value


router = APIRouter()


@router.post("/items", status_code=201)
async def create(
    item: Item, response: Response, tag: Annotated[list[str], Query()], x_agent: Annotated[str, Header()]
) -> dict[str, Any]:
    response.headers["x-created"] = item.name
    return {"item": item.model_dump(), "q": tag, "agent": x_agent}


@router.post("/login")
async def login() -> Response:
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie("session", "s3cret", httponly=True)
    return response


@router.get("/me")
async def me(request: Request, session: Annotated[str | None, Cookie()] = None) -> dict[str, Any]:
    return {"session": session, "db": getattr(request.app.state, "db", None)}


@router.get("/old")
async def old() -> RedirectResponse:
    return RedirectResponse("/me")


@router.get("/count")
async def count() -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for number in itertools.count():
            yield f"{number}\n"

    return StreamingResponse(lines(), media_type="text/plain")


@router.get("/ticks", response_class=EventSourceResponse)
async def ticks(limit: int | None = None) -> AsyncIterator[ServerSentEvent]:
    for number in itertools.count() if limit is None else range(limit):
        yield ServerSentEvent(event="tick", id=str(number), data={"n": number})


@router.get("/boom")
async def boom() -> None:
    raise Boom("handler failed")


@router.websocket("/ws")
async def echo(websocket: WebSocket, user: Annotated[str, Depends(token)]) -> None:
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_json()
            if data == {"bye": True}:
                await websocket.close(code=4001, reason="bye")
                return
            await websocket.send_json({"echo": data, "user": user})
    except WebSocketDisconnect:
        return


@router.websocket("/rooms/{room}")
async def room(websocket: WebSocket, room: int, nick: str) -> None:
    await websocket.accept()
    await websocket.send_json({"room": room, "nick": nick})
    await websocket.close()


def make_app(events: list[str] | None = None) -> FastAPI:
    log = events if events is not None else []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.append("startup")
        app.state.db = "pool-1"
        yield
        log.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


def make_form_app() -> FastAPI:
    """Built only where python-multipart is installed: FastAPI checks for it when a Form route is declared."""
    app = FastAPI()

    @app.post("/form")
    async def form(title: Annotated[str, Form()], tags: Annotated[str, Form()] = "") -> dict[str, str]:
        return {"title": title, "tags": tags}

    @app.post("/upload")
    async def upload_file(title: Annotated[str, Form()], doc: Annotated[UploadFile, File()]) -> dict[str, str]:
        return {"title": title, "name": doc.filename or "", "content": (await doc.read()).decode()}

    return app


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


async def test_validation_errors_are_422(make_client: Any) -> None:
    """Quirk: a body, query or header that fails validation is FastAPI's 422 with the error locations."""
    client = make_client(make_app())
    response = await client.post("/items", json={"name": "pen", "price": "free"}, params={"tag": "a"})
    await client.aclose()
    assert response.status_code == 422
    locations = sorted(tuple(error["loc"]) for error in response.json()["detail"])
    assert locations == [("body", "price"), ("header", "x-agent")]


async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    client = make_client(make_form_app())
    encoded = await client.post("/form", data={"title": "notes", "tags": "x"})
    multipart = await client.post("/upload", **upload())
    await client.aclose()
    assert encoded.json() == {"title": "notes", "tags": "x"}
    assert multipart.json() == {"title": "notes", "name": "notes.txt", "content": "line 1\nline 2\n"}


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()), 307)
    await contract.redirects_off(make_client(make_app(), follow_redirects=False), 307)


@live.LIFESPAN
async def test_lifespan_state_reaches_requests(make_client: Any) -> None:
    await contract.lifespan_state(make_client, make_app)


async def test_websocket_json_echo_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.websocket_connect("/ws", params={"token": "ok"}) as ws:
        await ws.send_json({"n": 1})
        assert await ws.receive_json() == {"echo": {"n": 1}, "user": "ok"}
        await ws.send_json(["é", None])
        assert await ws.receive_json() == {"echo": ["é", None], "user": "ok"}
        await ws.send_json({"bye": True})
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_json()
        assert (caught.value.code, caught.value.reason) == (4001, "bye")
    await client.aclose()


@live.SERVER
async def test_websocket_exception_in_a_dependency_rejects_the_handshake(make_client: Any) -> None:
    """Quirk: a WebSocketException raised before accept (here by a dependency) is a close, code and reason kept."""
    client = make_client(make_app())
    with pytest.raises(ClientWebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert (caught.value.code, caught.value.reason) == (1008, "bad token")


@abandons_generators
async def test_endless_stream_is_read_incrementally(make_client: Any) -> None:
    await contract.endless_stream(make_client(make_app()))


async def test_server_sent_events(make_client: Any) -> None:
    client = make_client(make_app())
    async with client.sse("/ticks", params={"limit": 5}) as source:
        events = await collect(source)
    await client.aclose()
    assert [(e.event, e.id, e.json()) for e in events] == [("tick", str(n), {"n": n}) for n in range(5)]


@pytest.mark.asgi_in_process(
    reason="FastAPI's SSE keep-alive task raises BrokenResourceError under uvicorn when the client leaves"
)
@abandons_generators
async def test_leaving_endless_server_sent_events(make_client: Any) -> None:
    """Quirk: leaving FastAPI's own (yield-based) SSE stream early ends it cleanly in-process; under uvicorn
    its keep-alive task raises an ExceptionGroup(BrokenResourceError) in the app when the client leaves."""
    client = make_client(make_app())
    async with client.sse("/ticks") as source:
        events = await first(source, 5)
    await client.aclose()
    assert [e.json() for e in events] == [{"n": n} for n in range(5)]


@live.RAISE
async def test_handler_exception_reaches_the_test_or_is_a_500(make_client: Any) -> None:
    response = await contract.handler_error(make_client, make_app, Boom)
    assert response.text == "Internal Server Error"


@live.SERVER
async def test_websocket_validation_error_closes_with_a_list_reason(make_client: Any) -> None:
    """Quirk: a WebSocket parameter that fails validation closes before accept with a *list* of errors as
    its reason, where ASGI wants a str: asgitest names the rule; with strict=False, it lets the list
    through, as Starlette's TestClient does."""
    client = make_client(make_app())
    async with client.websocket_connect("/rooms/7?nick=ada") as ws:
        assert await ws.receive_json() == {"room": 7, "nick": "ada"}
    with pytest.raises(ASGIProtocolError, match=r"\[ws-close-reason-str\]") as caught:
        async with client.websocket_connect("/rooms/seven"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert "code=1008" in str(caught.value)
    client = make_client(make_app(), strict=False)
    with pytest.raises(ClientWebSocketDisconnect) as refused:
        async with client.websocket_connect("/rooms/seven"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    await client.aclose()
    assert refused.value.code == 1008
    assert isinstance(refused.value.reason, list)
