"""The ASGI extensions a client offers (``extensions=``), checked and exposed on the response."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from asgitest import ASGIProtocolError, AsyncTestClient, Message, Receive, Scope, Send, TestClient

from . import live

pytestmark = [pytest.mark.anyio, live.EXTENSIONS]

EVERY = {
    "http.response.early_hint": {},
    "http.response.pathsend": {},
    "http.response.zerocopysend": {},
    "http.response.push": {},
}


def app_sending(*messages: Message | Any) -> Any:
    """An app that sends ``messages`` in order; a callable among them is called with the scope
    and gives the message."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": repr(sorted(scope["extensions"]))})
            await send({"type": "websocket.close"})
            return
        for message in messages:
            await send(message(scope) if callable(message) else message)

    return app


START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"ok"}


def scope_echo() -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": " ".join(sorted(scope["extensions"]))})
            await send({"type": "websocket.close"})
            return
        await send(START)
        await send({"type": "http.response.body", "body": " ".join(sorted(scope["extensions"])).encode()})

    return app


async def test_by_default_the_scopes_offer_what_starlette_s_client_offers(make_client: Any) -> None:
    client = make_client(scope_echo())
    assert (await client.get("/")).text == "http.response.debug http.response.trailers"
    async with client.websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "websocket.http.response"
    await client.aclose()


async def test_extensions_are_merged_over_the_defaults_and_none_withholds_one(make_client: Any) -> None:
    tls = {"server_cert": None, "client_cert_chain": [], "tls_version": 0x0304, "cipher_suite": 0x1301}
    client = make_client(
        scope_echo(),
        extensions={"http.response.early_hint": {}, "http.response.trailers": None, "tls": tls},
    )
    assert (await client.get("/")).text == "http.response.debug http.response.early_hint tls"
    async with client.websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "tls websocket.http.response"
    await client.aclose()


@pytest.mark.parametrize("client_class", [TestClient, AsyncTestClient])
def test_extensions_the_client_cannot_offer_are_refused_at_construction(client_class: Any) -> None:
    app = scope_echo()
    with pytest.raises(ValueError, match=r"does not implement the extension 'http\.fullflush'"):
        client_class(app, extensions={"http.fullflush": {}})
    with pytest.raises(TypeError, match="is a dict, or None to withhold it"):
        client_class(app, extensions={"http.response.push": True})
    with pytest.raises(TypeError, match="extensions is a dict"):
        client_class(app, extensions=["http.response.push"])


async def test_every_early_hint_s_links_are_on_the_response_in_order(make_client: Any) -> None:
    hints = [
        {"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]},
        {"type": "http.response.early_hint", "links": (b"</a.js>; rel=preload", bytearray(b"</b.js>; rel=preload"))},
    ]
    client = make_client(app_sending(*hints, START, BODY), extensions=EVERY)
    response = await client.get("/")
    assert response.text == "ok"
    assert response.extensions["http.response.early_hint"] == [
        [b"</style.css>; rel=preload; as=style"],
        [b"</a.js>; rel=preload", b"</b.js>; rel=preload"],
    ]
    async with client.stream("GET", "/") as streamed:  # a streamed response has them too
        assert len(streamed.extensions["http.response.early_hint"]) == 2
    await client.aclose()


async def test_starlette_s_early_hints_reach_the_response_only_where_offered(make_client: Any) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request

    if not hasattr(Request, "send_early_hints"):
        pytest.skip("Starlette sends early hints from 1.8 on, which needs Python 3.11")
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def page(request: Request) -> PlainTextResponse:
        await request.send_early_hints("</style.css>; rel=preload; as=style")
        return PlainTextResponse("page")

    app = Starlette(routes=[Route("/", page)])
    offered = make_client(app, extensions={"http.response.early_hint": {}})
    response = await offered.get("/")
    assert response.extensions["http.response.early_hint"] == [[b"</style.css>; rel=preload; as=style"]]
    plain = make_client(app)  # by default, as under uvicorn's HTTP/1.1: Starlette sends none
    assert "http.response.early_hint" not in (await plain.get("/")).extensions
    await offered.aclose()
    await plain.aclose()


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([START, {"type": "http.response.early_hint", "links": [b"</a>"]}, BODY], "http-early-hint-before-start"),
        ([{"type": "http.response.early_hint", "links": [b"</a>", "</b>"]}], "http-early-hint-links"),
        ([{"type": "http.response.early_hint", "links": b"</a>"}], "http-early-hint-links"),
        ([START, {"type": "http.response.pathsend", "path": "relative.txt"}], "http-pathsend-path"),
        ([START, {"type": "http.response.pathsend", "path": 7}], "http-pathsend-path"),
        ([START, BODY | {"more_body": True}, {"type": "http.response.pathsend", "path": "/"}], "http-pathsend-alone"),
        ([START, {"type": "http.response.zerocopysend", "file": io.BytesIO(b"x")}], "http-zerocopysend-file"),
        ([START, {"type": "http.response.zerocopysend", "file": None}], "http-zerocopysend-file"),
        ([START, {"type": "http.response.push", "path": b"/a", "headers": []}], "http-push-path"),
        ([{"type": "http.response.pathsend", "path": "/etc/hostname"}], "http-start-first"),
    ],
)
async def test_extension_messages_break_their_rules(make_client: Any, messages: list[Message], rule: str) -> None:
    client = make_client(app_sending(*messages), extensions=EVERY)
    with pytest.raises(ASGIProtocolError, match=rf"\[{rule}\]") as caught:
        await client.get("/")
    assert caught.value.rule == rule
    await client.aclose()


async def test_an_extension_not_offered_breaks_a_rule(make_client: Any, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    for message in (
        {"type": "http.response.early_hint", "links": [b"</a>"]},
        {"type": "http.response.pathsend", "path": str(tmp_path / "a.txt")},
    ):
        messages = [message, START, BODY] if "early" in message["type"] else [START, message]
        client = make_client(app_sending(*messages))
        with pytest.raises(ASGIProtocolError, match=r"http-extension-offered.*The scope offered") as caught:
            await client.get("/")
        assert caught.value.rule == "http-extension-offered"
        await client.aclose()


async def test_a_pathsend_body_is_the_file_streamed_in_chunks(make_client: Any, tmp_path: Path) -> None:
    content = bytes(range(256)) * 1000  # 256,000 bytes: several chunks
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"256000")]}
    client = make_client(app_sending(start, {"type": "http.response.pathsend", "path": str(path)}), extensions=EVERY)
    assert (await client.get("/")).content == content
    async with client.stream("GET", "/") as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert b"".join(chunks) == content
    assert len(chunks) > 1
    head = await client.head("/")
    assert head.content == b""
    assert head.headers["content-length"] == "256000"
    await client.aclose()


async def test_a_pathsend_to_no_file_names_the_path(make_client: Any, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    client = make_client(app_sending(START, {"type": "http.response.pathsend", "path": missing}), extensions=EVERY)
    with pytest.raises(ASGIProtocolError, match=r"There is no file to read at .*missing\.txt") as caught:
        await client.get("/")
    assert caught.value.rule == "http-pathsend-path"
    await client.aclose()


async def test_a_pathsend_is_counted_against_the_declared_length(make_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "three.txt"
    path.write_bytes(b"abc")
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
    client = make_client(
        app_sending(start, {"type": "http.response.pathsend", "path": str(path)}), extensions=EVERY, strict=True
    )
    with pytest.raises(ASGIProtocolError, match="The body ended after 3 of the 5 bytes it declared"):
        await client.get("/")
    await client.aclose()


async def test_starlette_s_file_response_uses_pathsend_where_offered(make_client: Any, tmp_path: Path) -> None:
    from starlette.responses import FileResponse

    path = tmp_path / "page.html"
    path.write_text("<h1>hi</h1>")
    sent: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: Message) -> None:
            sent.append(message["type"])
            await send(message)

        await FileResponse(path)(scope, receive, spy)

    client = make_client(app, extensions={"http.response.pathsend": {}})
    response = await client.get("/")
    assert response.text == "<h1>hi</h1>"
    assert response.headers["content-type"].startswith("text/html")
    assert sent == ["http.response.start", "http.response.pathsend"]
    await client.aclose()


async def test_a_zerocopysend_reads_its_range_and_mixes_with_body(make_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "letters.txt"
    path.write_bytes(b"abcdefghij")
    files: list[Any] = []

    def ranged(scope: Scope) -> Message:
        file = path.open("rb")
        files.append(file)
        return {"type": "http.response.zerocopysend", "file": file, "offset": 2, "count": 3, "more_body": True}

    def from_position(scope: Scope) -> Message:
        file = files[0]
        file.seek(8)  # without an offset, the bytes come from the file's position
        return {"type": "http.response.zerocopysend", "file": file, "more_body": True}

    client = make_client(
        app_sending(
            START,
            ranged,
            {"type": "http.response.body", "body": b"|", "more_body": True},
            from_position,
            {"type": "http.response.body", "body": b"."},
        ),
        extensions=EVERY,
    )
    assert (await client.get("/")).content == b"cde|ij."
    assert files[0].tell() == 10  # moved past what was read without an offset
    files[0].close()
    await client.aclose()


async def test_a_ranged_zerocopysend_leaves_the_file_position_alone(make_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "letters.txt"
    path.write_bytes(b"abcdefghij")
    with path.open("rb") as file:
        file.seek(1)
        message = {"type": "http.response.zerocopysend", "file": file, "offset": 5}
        client = make_client(app_sending(START, message), extensions=EVERY)
        assert (await client.get("/")).content == b"fghij"
        assert file.tell() == 1
        await client.aclose()


async def test_server_pushes_are_recorded_not_fetched(make_client: Any) -> None:
    push = {"type": "http.response.push", "path": "/style.css", "headers": [(b"accept", b"text/css")]}
    client = make_client(app_sending(START, push, BODY), extensions=EVERY)
    response = await client.get("/")
    assert response.extensions["http.response.push"] == [{"path": "/style.css", "headers": [(b"accept", b"text/css")]}]
    await client.aclose()


async def test_a_push_nobody_offered_is_dropped_unless_strict(make_client: Any) -> None:
    push = {"type": "http.response.push", "path": "/style.css", "headers": []}
    relaxed = make_client(app_sending(START, push, BODY), strict=False)
    response = await relaxed.get("/")
    assert response.text == "ok"
    assert "http.response.push" not in response.extensions
    strict = make_client(app_sending(START, push, BODY), strict=True)
    with pytest.raises(ASGIProtocolError, match="http-push-offered"):
        await strict.get("/")
    await relaxed.aclose()
    await strict.aclose()


async def test_a_denial_where_none_was_offered_breaks_a_rule(make_client: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no"})

    client = make_client(app, extensions={"websocket.http.response": None})
    with pytest.raises(ASGIProtocolError, match="ws-denial-offered"):
        async with client.websocket_connect("/ws"):
            pass
    await client.aclose()
