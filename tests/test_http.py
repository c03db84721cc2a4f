"""HTTP through both clients: scope fidelity, bodies, cookies, redirects, errors, background work, timeouts."""

from __future__ import annotations

import contextlib
import contextvars
import gzip
import sys
import time
import traceback
from typing import Any

import anyio
import httpx2
import pytest

from asgitest import ASGIProtocolError, ASGITimeoutError, ClientDisconnected, Message, Receive, Scope, Send

from . import live
from .apps import echo_scope, read_body, send_json

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio


@live.SCOPE
async def test_scope_has_every_key_the_spec_lists(make_client: Any) -> None:
    client = make_client(echo_scope, root_path="/root", client=("10.0.0.1", 1234))
    response = await client.get("/a%20b/c?x=1&y=2", headers={"X-Custom": "Yes"})
    await client.aclose()
    assert response.status_code == 200
    scope = response.json()["scope"]
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/a b/c"
    assert scope["raw_path"] == "/a%20b/c"
    assert scope["query_string"] == "x=1&y=2"
    assert scope["root_path"] == "/root"
    assert scope["client"] == ["10.0.0.1", 1234]
    assert scope["server"] == ["testserver", 80]
    assert scope["state"] == {}
    headers = dict(scope["headers"])
    assert headers["host"] == "testserver"
    assert headers["user-agent"] == "testclient"
    assert headers["x-custom"] == "Yes"
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert set(scope["extensions"]) == {"http.response.debug", "http.response.trailers"}


@live.SCOPE
async def test_defaults_match_starlette(make_client: Any) -> None:
    client = make_client(echo_scope, base_url="https://example.org:8443")
    scope = (await client.get("/")).json()["scope"]
    await client.aclose()
    assert scope["client"] == ["testclient", 50000]
    assert scope["scheme"] == "https"
    assert scope["server"] == ["example.org", 8443]


@live.SCOPE
async def test_port_zero_in_the_base_url_is_the_server_s_port(make_client: Any) -> None:
    """The port of the URL, 0 included, is the scope's: the Host header says the same."""
    client = make_client(echo_scope, base_url="http://testserver:0")
    scope = (await client.get("/")).json()["scope"]
    await client.aclose()
    assert scope["server"] == ["testserver", 0]
    assert dict(scope["headers"])["host"] == "testserver:0"


@live.LOOP
async def test_the_test_s_context_variables_reach_the_app(make_client: Any) -> None:
    """As a task group's tasks do: the app runs in a copy of the calling test's context."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(REQUEST_ID.get())
        await send_json(send, {})

    client = make_client(app)
    token = REQUEST_ID.set("set by the test")
    try:
        await client.get("/")
    finally:
        REQUEST_ID.reset(token)
    await client.aclose()
    assert seen == ["set by the test"]


@live.SCOPE
async def test_the_same_path_follows_a_changed_base_url(make_client: Any) -> None:
    client = make_client(echo_scope, base_url="http://testserver/v1")
    first = (await client.get("items?page=2")).json()["scope"]
    again = (await client.get("items?page=2")).json()["scope"]
    getattr(client, "target", client).base_url = "https://other.example/v2/"
    moved = (await client.get("items?page=2")).json()["scope"]
    absolute = (await client.get("http://elsewhere.example/x")).json()["scope"]
    await client.aclose()
    assert (first["path"], first["query_string"]) == ("/v1/items", "page=2")
    assert again["path"] == first["path"]
    assert (moved["scheme"], moved["path"], moved["server"]) == ("https", "/v2/items", ["other.example", 443])
    assert (absolute["path"], absolute["server"]) == ("/x", ["elsewhere.example", 80])


async def test_request_body_reaches_the_app(make_client: Any) -> None:
    client = make_client(echo_scope)
    payload = b"x" * 65536
    response = await client.post("/upload", content=payload)
    json_response = await client.post("/json", json={"a": [1, 2]})
    await client.aclose()
    assert response.json()["body"] == payload.decode()
    assert response.json()["scope"]["method"] == "POST"
    assert json_response.json()["body"] == '{"a":[1,2]}'


async def test_asgi2_apps_work(make_client: Any) -> None:
    class Legacy:
        def __init__(self, scope: Scope) -> None:
            self.scope = scope

        async def __call__(self, receive: Receive, send: Send) -> None:
            await send_json(send, {"path": self.scope["path"]})

    client = make_client(Legacy)
    response = await client.get("/legacy")
    await client.aclose()
    assert response.json() == {"path": "/legacy"}


async def test_cookies_persist_and_redirects_are_followed(make_client: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        if scope["path"] == "/login":
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/me"), (b"set-cookie", b"session=abc; Path=/")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
        else:
            await send_json(send, {"cookie": headers.get(b"cookie", b"").decode()})

    client = make_client(app)
    followed = await client.post("/login")
    again = await client.get("/me")
    await client.aclose()
    assert followed.status_code == 200
    assert followed.json() == {"cookie": "session=abc"}
    assert [r.status_code for r in followed.history] == [303]
    assert again.json() == {"cookie": "session=abc"}

    client = make_client(app, follow_redirects=False)
    not_followed = await client.post("/login")
    await client.aclose()
    assert not_followed.status_code == 303


async def test_head_response_has_no_body(make_client: Any) -> None:
    client = make_client(echo_scope)
    response = await client.head("/")
    await client.aclose()
    assert response.status_code == 200
    assert response.content == b""


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


class Boom(Exception):
    pass


async def failing(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] == "/after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise Boom("after start")
    if scope["path"] == "/group":
        raise ExceptionGroup("wrapped", [ExceptionGroup("inner", [Boom("in a group")])])
    raise Boom("before start")


@live.RAISE
async def test_app_exceptions_are_re_raised_as_the_app_raised_them(make_client: Any) -> None:
    client = make_client(failing)
    with pytest.raises(Boom, match="before start"):
        await client.get("/")
    # A group the app raised stays a group, as with Starlette's client: only the app made it.
    with pytest.raises(ExceptionGroup, match="wrapped") as raised:
        await client.get("/group")
    assert raised.group_contains(Boom, match="in a group", depth=2)
    with pytest.raises(Boom, match="after start"):
        await client.get("/after-start")
    await client.aclose()


@live.RAISE
async def test_without_raising_server_exceptions_a_failure_is_a_500(make_client: Any) -> None:
    client = make_client(failing, raise_server_exceptions=False)
    before = await client.get("/")
    after = await client.get("/after-start")
    async with client.stream("GET", "/") as streamed:  # a 500 read as a stream: an empty body
        chunks = [chunk async for chunk in streamed.aiter_raw()]
    await client.aclose()
    assert before.status_code == 500
    assert after.status_code == 200  # the response had started: the test sees what was sent
    assert (streamed.status_code, chunks) == (500, [])


@live.CHECK
async def test_an_app_that_returns_without_responding_is_reported(make_client: Any) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return

    client = make_client(silent)
    with pytest.raises(ASGIProtocolError, match=r"GET /nothing: ASGI rule \[http-response-started\] broken"):
        await client.get("/nothing")
    await client.aclose()
    client = make_client(silent, raise_server_exceptions=False)
    assert (await client.get("/nothing")).status_code == 500
    await client.aclose()


@live.CHECK
async def test_an_app_that_returns_mid_body_is_reported(make_client: Any) -> None:
    async def truncated(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})

    client = make_client(truncated)
    with pytest.raises(ASGIProtocolError, match=r"GET /: ASGI rule \[http-response-complete\] broken"):
        await client.get("/")
    await client.aclose()


@live.CHECK
async def test_strict_false_tolerates_what_starlettes_client_does(make_client: Any) -> None:
    async def sloppy(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"10"), (b"x debug", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"short", "more_body": True})

    client = make_client(sloppy)
    with pytest.raises(ASGIProtocolError, match=r"\[header-name-token\]") as caught:
        await client.get("/")
    assert caught.value.rule == "header-name-token"
    await client.aclose()
    client = make_client(sloppy, strict=False)
    assert (await client.get("/")).content == b"short"  # truncated, as Starlette's client gives it
    await client.aclose()


def background_work(events: list[str]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await send_json(send, {"ok": True})
        await anyio.sleep(0.05)  # simulated work after the response
        events.append("background done")
        if scope["path"] == "/fail":
            raise Boom("background task failed")

    return app


@live.WAIT
async def test_a_plain_request_returns_after_the_app_returned(make_client: Any) -> None:
    events: list[str] = []
    client = make_client(background_work(events))
    response = await client.post("/")
    await client.aclose()
    assert response.json() == {"ok": True}
    assert events == ["background done"]


@live.RAISE
async def test_a_background_failure_reaches_the_test_with_its_traceback(make_client: Any) -> None:
    events: list[str] = []
    client = make_client(background_work(events))
    with pytest.raises(Boom, match="background task failed") as caught:
        await client.post("/fail")
    await client.aclose()
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "app" in frames  # the app's own frame is in the traceback


def never_responds(seen: list[str]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        try:
            message = await receive()  # waits for the client to go away
            seen.append(message["type"])
            await anyio.sleep_forever()
        finally:
            seen.append("finished")

    return app


@live.TIMEOUT
async def test_a_response_that_never_starts_times_out_and_disconnects_the_app(make_client: Any) -> None:
    seen: list[str] = []
    client = make_client(never_responds(seen), timeout=0.2, grace_period=0.1)
    started = time.monotonic()
    with pytest.raises(ASGITimeoutError, match=r"GET /slow: the app did not start a response within 0.2s") as caught:
        await client.get("/slow")
    elapsed = time.monotonic() - started
    await client.aclose()
    assert isinstance(caught.value, TimeoutError)
    assert seen == ["http.disconnect", "finished"]
    assert elapsed < 0.2 + 0.1 + 2  # timeout + grace, with room for a slow machine


@live.TIMEOUT
async def test_a_per_call_timeout_overrides_the_client_default(make_client: Any) -> None:
    seen: list[str] = []
    client = make_client(never_responds(seen), timeout=30, grace_period=0)
    with pytest.raises(ASGITimeoutError, match=r"within 0\.1s"):
        await client.get("/slow", timeout=0.1)
    await client.aclose()
    assert seen[-1] == "finished"


async def test_the_bound_applies_to_each_wait_not_to_the_whole_response(make_client: Any) -> None:
    """A slow response that keeps sending is not cut off: each chunk restarts the bound."""

    async def trickle(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(5):
            await anyio.sleep(0.06)  # simulated work, 0.3s in all
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    client = make_client(trickle, timeout=0.2)
    started = time.monotonic()
    response = await client.get("/trickle")
    await client.aclose()
    assert response.content == b"xxxxx"
    assert time.monotonic() - started >= 0.3
    assert "content-length" not in response.headers  # the headers are the app's, nothing added
    assert response.is_closed
    assert response.elapsed.total_seconds() >= 0.3


def encoded(body: bytes, encoding: bytes | None) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", str(len(body)).encode())]
        if encoding is not None:
            headers.append((b"content-encoding", encoding))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize("encoding", [None, b"identity", b"gzip"])
async def test_a_whole_body_is_read_and_decoded_as_httpx2_reads_one(make_client: Any, encoding: bytes | None) -> None:
    text = b"hello, " * 100
    raw = gzip.compress(text) if encoding == b"gzip" else text
    client = make_client(encoded(raw, encoding))
    response = await client.get("/")
    await client.aclose()
    assert response.content == text
    assert response.num_bytes_downloaded == len(raw)
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.elapsed.total_seconds() > 0
    assert response.headers.get("content-encoding") == (encoding and encoding.decode())
    assert "content-length" in response.headers
    assert "transfer-encoding" not in response.headers


# Live, on trio, httpcore2 leaves its pool stream's generator to the collector after the error.
@pytest.mark.filterwarnings("ignore:Exception ignored in.*PoolByteStream:pytest.PytestUnraisableExceptionWarning")
async def test_a_body_that_fails_to_decode_raises_httpx2s_error(make_client: Any) -> None:
    client = make_client(encoded(b"not gzip at all", b"gzip"))
    with pytest.raises(httpx2.DecodingError):
        await client.get("/")
    await client.aclose()


@live.TIMEOUT
async def test_a_huge_timeout_is_as_good_as_none(make_client: Any) -> None:
    """Longer than a thread's lock can wait (threading.TIMEOUT_MAX): the bound is clamped."""
    client = make_client(echo_scope, timeout=1e15)
    response = await client.get("/")
    await client.aclose()
    assert response.status_code == 200


@live.TIMEOUT
async def test_an_app_that_never_returns_after_its_response_times_out(make_client: Any) -> None:
    async def lingering(scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, {"ok": True})
        await anyio.sleep_forever()

    client = make_client(lingering, timeout=0.2, grace_period=0)
    with pytest.raises(ASGITimeoutError, match="waiting for the app to return after the response body"):
        await client.get("/")
    await client.aclose()


@live.WAIT
async def test_leaving_a_stream_early_disconnects_the_app(make_client: Any) -> None:
    seen: list[Any] = []

    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        seen.append((await receive())["type"])
        try:
            await send({"type": "http.response.body", "body": b"late", "more_body": True})
        except ClientDisconnected as exc:
            seen.append(exc)

    client = make_client(endless)
    async with client.stream("GET", "/events") as response:
        assert response.status_code == 200
        async with contextlib.aclosing(response.aiter_bytes()) as chunks:
            assert await anext(chunks) == b"first"
    await client.aclose()
    assert seen[0] == "http.disconnect"
    assert isinstance(seen[1], OSError)
    assert "GET /events" in str(seen[1])


@live.CHECK
async def test_a_push_promise_nobody_offered_is_dropped_unless_strict(make_client: Any) -> None:
    """As Starlette's client drops it; a server that offers no push fails the app instead."""

    async def pushes(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.push", "path": "/style.css", "headers": []})
        await send_json(send, {"pushed": "http.response.push" in scope["extensions"]})

    relaxed = make_client(pushes, strict=False)
    assert (await relaxed.get("/")).json() == {"pushed": False}
    await relaxed.aclose()
    strict = make_client(pushes, strict=True)
    with pytest.raises(ASGIProtocolError) as caught:
        await strict.get("/")
    await strict.aclose()
    assert caught.value.rule == "http-push-offered"


@live.CHECK
@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([], "TestClient did not receive any response"),
        ([{"type": "http.response.trailers"}], "without declaring trailers"),
        (
            [{"type": "http.response.start", "status": 200, "trailers": True}, {"type": "http.response.trailers"}],
            "before body completed",
        ),
        (
            [{"type": "http.response.start", "status": 200}, {"type": "http.response.start", "status": 200}],
            'Received multiple "http.response.start" messages',
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body"},
                {"type": "http.response.body"},
            ],
            'Received "http.response.body" after response completed',
        ),
    ],
)
async def test_protocol_errors_are_assertion_errors_in_starlette_s_words_too(
    make_client: Any, messages: list[Message], words: str
) -> None:
    """A test expecting Starlette's AssertionError, by its message, still matches."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    client = make_client(app)
    with pytest.raises(AssertionError, match=words) as caught:
        await client.get("/")
    await client.aclose()
    assert isinstance(caught.value, ASGIProtocolError)


@live.SCOPE  # the trailers and debug extensions are the in-process client's (uvicorn offers neither)
async def test_trailers_and_debug_information_reach_the_response(make_client: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.debug", "info": {"template": "page.html", "context": {"n": 1}}})
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": True})
        await send({"type": "http.response.trailers", "headers": [(bytearray(b"x-rows"), b"1")]})

    client = make_client(app)
    for stream in (False, True):
        if stream:
            async with client.stream("GET", "/") as response:
                assert await response.aread() == b"x"
        else:
            response = await client.get("/")
        assert response.extensions["http.response.trailers"] == [(b"x-checksum", b"abc"), (b"x-rows", b"1")]
        assert response.extensions["http.response.debug"] == {"template": "page.html", "context": {"n": 1}}
        assert (response.template, response.context) == ("page.html", {"n": 1})  # as Starlette's client sets them
    await client.aclose()


@live.TIMEOUT
async def test_a_lifespan_that_answers_its_shutdown_but_never_returns_times_out(make_client: Any) -> None:
    async def lingers(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        await anyio.sleep_forever()  # never returns

    with pytest.raises(ASGITimeoutError) as caught:
        async with make_client(lingers, timeout=0.1):
            pass
    message = str(caught.value)
    assert "answered lifespan.shutdown.complete but did not return within 0.1s" in message
    assert "sleep_forever" in message
    assert "it was cancelled" in message
