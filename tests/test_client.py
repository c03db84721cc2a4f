"""Client-wide behaviour: one loop, no threads left behind, the broadcast scenario, stale sessions."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import threading
import types
from typing import Any

import anyio
import pytest
import starlette.testclient
import starlette.websockets
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import asgitest
from asgitest import Message, Receive, Scope, Send, StaleConnectionWarning, TestClient

from . import live
from .apps import echo_scope, send_json

pytestmark = pytest.mark.anyio


def current_loop() -> object:
    """An identity for the running event loop, on asyncio or trio."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


def loop_recorder(seen: list[tuple[str, object, int]]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["type"], current_loop(), threading.get_ident()))
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await receive()
        else:
            await send_json(send, {})

    return app


@live.LOOP
@pytest.mark.parametrize("managed", [True, False], ids=["with", "without-with"])
async def test_everything_runs_on_one_loop(make_client: Any, flavor: str, managed: bool) -> None:
    seen: list[tuple[str, object, int]] = []
    client = make_client(loop_recorder(seen))
    if managed:
        await client.__aenter__()
    for _ in range(3):
        await client.get("/")
    async with client.websocket_connect("/ws"):
        pass
    async with client.websocket_connect("/ws"):
        await client.post("/")
    if managed:
        await client.__aexit__(None, None, None)
    else:
        await client.aclose()
    kinds = [kind for kind, _, _ in seen]
    assert kinds.count("http") == 4
    assert kinds.count("websocket") == 2
    assert ("lifespan" in kinds) is managed
    assert len({loop for _, loop, _ in seen}) == 1
    assert len({thread for _, _, thread in seen}) == 1
    if flavor == "async":
        assert seen[0][1] == current_loop()  # the test's own loop
        assert seen[0][2] == threading.get_ident()
    else:
        assert seen[0][2] != threading.get_ident()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_every_sync_client_of_a_backend_shares_one_loop_thread(backend: str) -> None:
    """As a server runs every connection on its loop: clients with or without `with`,
    closed or never closed, a suite's thousands of module-level ones, one thread."""

    def loop_threads() -> set[str]:
        return {t.name for t in threading.enumerate() if t.name.startswith(f"asgitest loop ({backend}")}

    seen: list[tuple[str, object, int]] = []
    closed = TestClient(loop_recorder(seen), backend=backend)  # type: ignore[arg-type]
    closed.get("/")
    closed.close()
    with TestClient(loop_recorder(seen), backend=backend) as managed:  # type: ignore[arg-type]
        managed.get("/")
    never_closed = [TestClient(loop_recorder(seen), backend=backend) for _ in range(2000)]  # type: ignore[arg-type]
    for client in never_closed[::200]:
        client.get("/")
    assert len(loop_threads()) == 1
    assert len({loop for _, loop, _ in seen}) == 1  # one event loop, too
    assert len({thread for _, _, thread in seen}) == 1
    del never_closed, client
    gc.collect()
    assert len(loop_threads()) == 1


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_loop_thread_starts_with_the_first_client_not_within_a_request_s_bound(backend: str) -> None:
    """The first client of a backend starts the loop when it is made: a first request with a
    short timeout does not see its bound spent on the thread's start (trio's import alone
    takes tens of milliseconds)."""
    options = {"asyncio": {"debug": False}, "trio": {"restrict_keyboard_interrupt_to_checkpoints": False}}
    name = f"asgitest loop ({backend}, {options[backend]})"
    assert name not in {t.name for t in threading.enumerate()}
    client = TestClient(echo_scope, backend=backend, backend_options=options[backend])  # type: ignore[arg-type]
    assert name in {t.name for t in threading.enumerate()}
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_two_users_share_the_app_s_loop_bound_objects(backend: str) -> None:
    """Two sync clients (two users, two cookie jars) on one app whose rooms are asyncio or trio
    objects made on the first request's loop: with a loop per client, the second user breaks."""
    rooms: dict[str, Any] = {}

    async def chat(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        user = scope["path"].rsplit("/", 1)[1]
        if "lobby" not in rooms:  # made on the loop of the first user's request
            rooms["lobby"] = anyio.create_memory_object_stream[str](100)
        send_stream, receive_stream = rooms["lobby"]
        if user == "ada":
            await send_stream.send("hello from ada")
            await receive()
        else:
            await send({"type": "websocket.send", "text": await receive_stream.receive()})
            await receive()

    ada = TestClient(chat, backend=backend)  # type: ignore[arg-type]
    bob = TestClient(chat, backend=backend)  # type: ignore[arg-type]
    # bob waits in the room first; then ada speaks, waking bob's wait
    with bob.websocket_connect("/chat/bob") as heard, ada.websocket_connect("/chat/ada"):
        assert heard.receive_text(timeout=5) == "hello from ada"
    ada.close()
    bob.close()
    for stream in rooms["lobby"]:
        stream.close()


async def _requests_and_messages(client: Any) -> None:
    for _ in range(5):
        assert (await client.get("/")).status_code == 200
        async with client.stream("GET", "/") as response:
            await response.aread()
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("ping")
            assert await ws.receive_text() == "ping"


def _cyclic_garbage_of(run: Any) -> int:
    """How many objects ``run()`` leaves that only the garbage collector can free.

    The fewest of three runs: the shared loop thread may be ending clients that earlier
    tests dropped meanwhile, and what that frees is not ``run()``'s; a cycle made per
    request shows in every run.
    """
    run()  # warm up: first-use caches are not garbage
    counts = []
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            run()
            counts.append(gc.collect())
        finally:
            gc.enable()
    return min(counts)


def _plain_app() -> Starlette:
    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return Starlette(routes=[Route("/", hello), WebSocketRoute("/ws", echo)])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_requests_and_messages_leave_no_reference_cycles(backend: str) -> None:
    """What asgitest allocates per request is freed as soon as it is dropped: objects in
    reference cycles wait for the garbage collector, whose passes slow a whole suite."""
    with TestClient(_plain_app(), backend=backend) as client:

        def run() -> None:
            for _ in range(5):
                assert client.get("/").status_code == 200
                with client.stream("GET", "/") as response:
                    response.read()
                with client.websocket_connect("/ws") as ws:
                    ws.send_text("ping")
                    assert ws.receive_text() == "ping"

        assert _cyclic_garbage_of(run) == 0


async def test_async_requests_and_messages_leave_no_reference_cycles() -> None:
    """As for the sync client, the fewest of three runs (see _cyclic_garbage_of): the shared
    loop thread may free what earlier tests dropped while this one runs."""
    async with asgitest.AsyncTestClient(_plain_app()) as client:
        await _requests_and_messages(client)  # warm up: first-use caches are not garbage
        counts = []
        for _ in range(3):
            gc.collect()
            gc.disable()
            try:
                await _requests_and_messages(client)
                counts.append(gc.collect())
            finally:
                gc.enable()
        assert min(counts) == 0


def test_a_task_the_app_leaves_running_ends_with_its_own_client() -> None:
    """The loop is shared: a task one client's app left running, and an async generator it left
    unfinished, end when that client closes (after the grace period), not when another client
    does, and not never."""
    escaped: list[asyncio.Task[Any]] = []
    kept: list[Any] = []
    finished: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/escape":
            escaped.append(asyncio.create_task(asyncio.Event().wait(), name="forgotten"))  # outlives the request
            kept.append(counting(finished))  # the app keeps it unfinished
            await anext(kept[0])
        await send_json(send, {})

    leaving = TestClient(app, grace_period=0.05, strict=True)
    other = TestClient(app, grace_period=0.05, strict=True)
    leaving.get("/escape")
    other.get("/")
    other.close()
    assert not escaped[0].done()  # not the other client's to end
    assert finished == []
    leaving.close()  # as the end of a server's loop does: no warning
    assert escaped[0].cancelled()
    assert finished == ["generator finished"]


async def counting(finished: list[str]) -> Any:
    try:
        for number in itertools.count():
            yield number
    finally:
        finished.append("generator finished")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_dropped_client_s_cleanup_never_waits_for_its_loop(backend: str) -> None:
    """The collector may run a dropped client's cleanup on any thread, another loop's among
    them: the cleanup only starts the client's close on the loop, and returns at once."""
    released: list[bool] = []
    release, done = threading.Event(), threading.Event()
    disconnects: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        disconnects.append(await receive())
        done.set()

    client = TestClient(app, backend=backend)  # type: ignore[arg-type]
    client.websocket_connect("/ws").__enter__()  # left open, and the client dropped
    client._loop.call_soon(lambda: released.append(release.wait(10)))  # the loop is busy until released
    del client
    gc.collect()  # the cleanup runs here; waiting for the loop would last until the wait above times out
    release.set()
    assert done.wait(10)  # then the loop ends the dropped client's session
    assert released == [True]
    assert [message["type"] for message in disconnects] == ["websocket.disconnect"]


def test_a_sync_client_called_from_its_own_loop_raises_at_once() -> None:
    """An app calling a sync client would wait for its own loop for ever."""
    inner = TestClient(echo_scope)

    async def calls_back(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            inner.get("/")
        except RuntimeError as exc:
            await send_json(send, {"error": str(exc)})

    outer = TestClient(calls_back)
    error = outer.get("/").json()["error"]
    outer.close()
    inner.close()
    assert "called from its own event loop" in error
    assert "Use an AsyncTestClient there" in error


def test_the_sync_client_can_be_entered_again_like_starlettes() -> None:
    seen: list[tuple[str, object, int]] = []
    client = TestClient(loop_recorder(seen))
    for _ in range(2):
        with client:
            client.get("/")
    client.close()
    assert [kind for kind, _, _ in seen] == ["lifespan", "http", "lifespan", "http"]


def test_pytest_does_not_collect_the_clients() -> None:
    assert asgitest.TestClient.__test__ is False
    assert asgitest.AsyncTestClient.__test__ is False


def lobby(*, forget_sockets: bool = False) -> Starlette:
    """The scenario: sockets kept in a list, a POST broadcasting from a background task."""
    sockets: list[WebSocket] = []

    async def broadcast(name: str) -> None:
        for socket in list(sockets):
            await socket.send_json({"event": "player_joined", "name": name})

    async def join(request: Request) -> JSONResponse:
        player = await request.json()
        return JSONResponse({"ok": True}, background=BackgroundTask(broadcast, player["name"]))

    async def play(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.append(websocket)
        try:
            while True:
                if await websocket.receive_text() == "ping":
                    await websocket.send_text("pong")
        except starlette.websockets.WebSocketDisconnect:
            if not forget_sockets:
                await anyio.sleep(0.01)  # async cleanup, like a real app's deregistration
                sockets.remove(websocket)

    return Starlette(routes=[Route("/players", join, methods=["POST"]), WebSocketRoute("/ws", play)])


async def play_one_round(client: Any, name: str) -> None:
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("ping")
        assert await ws.receive_text(timeout=2) == "pong"
        response = await client.post("/players", json={"name": name})
        assert response.json() == {"ok": True}
        assert await ws.receive_json(timeout=2) == {"event": "player_joined", "name": name}


@pytest.mark.parametrize("managed", [True, False], ids=["with", "without-with"])
async def test_the_broadcast_scenario_passes_test_after_test(make_client: Any, managed: bool) -> None:
    app = lobby()
    for round_number in range(3):  # each round is what one test of a suite does
        client = make_client(app)
        if managed:
            async with client:
                await play_one_round(client, f"player {round_number}")
        else:
            await play_one_round(client, f"player {round_number}")
            await client.aclose()


@live.CHECK
async def test_an_app_that_keeps_closed_sockets_is_reported(make_client: Any) -> None:
    app = lobby(forget_sockets=True)
    client = make_client(app)
    await play_one_round(client, "first")
    with pytest.warns(StaleConnectionWarning, match=r"1 closed WebSocket connection\(s\) to /ws") as caught:
        await client.aclose()
    assert "last ASGI events of WebSocket /ws" in str(caught[0].message)
    assert "app <- websocket.disconnect code=1000" in str(caught[0].message)

    # The next test fails the way it would under a real server: the app's send to the
    # stale socket raises an OSError, which Starlette turns into WebSocketDisconnect(1006).
    client = make_client(app)
    with pytest.raises(starlette.websockets.WebSocketDisconnect) as caught:
        await play_one_round(client, "second")
    assert caught.value.code == 1006
    with pytest.warns(StaleConnectionWarning):
        await client.aclose()


@live.CHECK
async def test_by_default_a_kept_socket_is_a_finding_only_once_the_app_sends_on_it(make_client: Any) -> None:
    """A reference alone breaks nothing (FastAPI's own tests keep sockets for their asserts):
    no warning. A send on the kept socket fails in the app, as under a server, and is a
    finding naming the test that closed the socket."""
    from asgitest import _report

    app = lobby(forget_sockets=True)
    client = make_client(app, strict=False)
    await play_one_round(client, "first")
    _report.take()
    await client.aclose()  # no StaleConnectionWarning (filterwarnings = error would fail here)
    assert _report.take() == []

    client = make_client(app, strict=False)
    with pytest.raises(starlette.websockets.WebSocketDisconnect) as caught:
        await play_one_round(client, "second")
    assert caught.value.code == 1006
    await client.aclose()
    findings = [finding for finding in _report.take() if finding.kind == "StaleConnectionWarning"]
    assert len(findings) == 1
    assert "the app sent 'websocket.send' on WebSocket /ws" in findings[0].message
    assert "test_by_default_a_kept_socket_is_a_finding_only_once_the_app_sends_on_it" in findings[0].message


async def test_a_logged_traceback_holding_a_closed_socket_is_no_leak(make_client: Any) -> None:
    """Quart and Falcon log a handler's exception; the kept record's traceback holds the
    handler's finished frame, and that frame the socket: not the app's reference."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tests.keeps-records")
    logger.addHandler(handler)

    async def play(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await websocket.receive_text()
            raise ValueError("the handler failed")
        except ValueError:
            logger.exception("handler failed")
        await websocket.close()

    client = make_client(Starlette(routes=[WebSocketRoute("/ws", play)]))
    try:
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("go")
            assert (await ws.receive())["type"] == "websocket.close"
        await client.aclose()  # no StaleConnectionWarning: warnings are errors here
    finally:
        logger.removeHandler(handler)
    assert records[0].exc_info is not None  # the traceback was kept all along


async def test_a_closed_client_stays_closed(make_client: Any) -> None:
    client = make_client(send_json_app)
    assert (await client.get("/")).json() == {"ok": True}
    await client.aclose()
    with pytest.raises(asgitest.ClientClosedError, match="was closed; make a new one"):
        client.websocket_connect("/ws")
    with pytest.raises(RuntimeError, match="closed"):  # httpx2's own error for a request
        await client.get("/")
    with pytest.raises(RuntimeError):  # ClientClosedError in-process; httpx2's "cannot reopen" live
        async with client:
            pytest.fail("a closed client must not open again")  # pragma: no cover


def test_exceptions_are_catchable_as_starlettes() -> None:
    assert issubclass(asgitest.WebSocketDisconnect, starlette.websockets.WebSocketDisconnect)
    assert issubclass(asgitest.WebSocketDenialResponse, starlette.testclient.WebSocketDenialResponse)
    assert issubclass(asgitest.WebSocketDenialResponse, asgitest.WebSocketDisconnect)
    assert issubclass(asgitest.ClientDisconnected, OSError)
    assert issubclass(asgitest.ASGITimeoutError, TimeoutError)
    for name in ("ASGITimeoutError", "ASGIProtocolError", "ClientDisconnected", "WebSocketDisconnect"):
        assert issubclass(getattr(asgitest, name), asgitest.ASGITestError)
    error = asgitest.WebSocketDisconnect(4000, "bye")
    assert (error.code, error.reason, str(error)) == (4000, "bye", "WebSocket closed with code 4000: bye")


def test_the_public_surface_is_exactly_all() -> None:
    # Submodules (the pytest plugin) and pytest's assertion-rewriting helpers aside.
    public = {
        name
        for name in dir(asgitest)
        if not name.startswith(("_", "@")) and not isinstance(getattr(asgitest, name), types.ModuleType)
    }
    assert public == set(asgitest.__all__)
    for name in asgitest.__all__:
        value = getattr(asgitest, name)
        if isinstance(value, type) and not isinstance(value, types.GenericAlias):  # 3.10: aliases pass as types
            assert value.__module__ == "asgitest", name


async def send_json_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send_json(send, {"ok": True})


def test_the_suite_s_defaults_come_from_the_environment() -> None:
    from asgitest._config import DEFAULT_TIMEOUT, Defaults, from_environment

    assert from_environment({}) == Defaults(timeout=DEFAULT_TIMEOUT, grace_period=1.0, strict=False)
    assert DEFAULT_TIMEOUT == 30.0  # a 15 s SSE keep-alive fits
    environ = {"ASGITEST_TIMEOUT": "none", "ASGITEST_GRACE_PERIOD": "0.5", "ASGITEST_STRICT": "yes"}
    assert from_environment(environ) == Defaults(timeout=None, grace_period=0.5, strict=True)
    for name, value, message in [
        ("ASGITEST_TIMEOUT", "soon", "ASGITEST_TIMEOUT must be a number of seconds, not 'soon'"),
        ("ASGITEST_GRACE_PERIOD", "-1", "ASGITEST_GRACE_PERIOD must be a finite number of seconds"),
        ("ASGITEST_STRICT", "maybe", "ASGITEST_STRICT must be true or false"),
    ]:
        with pytest.raises(ValueError, match=message):
            from_environment({name: value})


@pytest.mark.parametrize(
    ("grace_period", "error"), [(-1, ValueError), (float("inf"), ValueError), ("1", TypeError), (True, TypeError)]
)
def test_a_bad_grace_period_is_refused_at_construction(grace_period: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="grace_period must be"):
        TestClient(echo_scope, grace_period=grace_period)
    with pytest.raises(error, match="grace_period must be"):
        asgitest.AsyncTestClient(echo_scope, grace_period=grace_period)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("how", ["whole", "stream"])
def test_an_app_raising_system_exit_leaves_the_shared_loop_running(backend: str, how: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/exit":
            raise SystemExit(3)
        await send_json(send, {"fine": True})

    client = TestClient(app, backend=backend)  # type: ignore[arg-type]
    with pytest.raises(SystemExit) as caught:
        if how == "whole":
            client.get("/exit")
        else:
            with client.stream("GET", "/exit"):
                pass  # pragma: no cover
    assert caught.value.code == 3
    assert client.get("/").json() == {"fine": True}  # the loop, shared, runs on
    client.close()


async def test_an_app_raising_system_exit_reaches_the_async_client_s_caller() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/exit":
            raise SystemExit(3)
        await send_json(send, {"fine": True})

    async with asgitest.AsyncTestClient(app) as client:
        with pytest.raises(SystemExit) as caught:
            await client.get("/exit")
        assert caught.value.code == 3
        assert (await client.get("/")).json() == {"fine": True}


@pytest.mark.asgi_in_process(reason="the grace period is the in-process client's")
async def test_a_grace_period_of_none_is_the_suite_default_not_unbounded(make_client: Any) -> None:
    """``grace_period=None`` means "not given": the suite's default bounds the wait for an app
    that ignores the disconnect (it once made that wait unbounded)."""
    from asgitest import _config

    ignoring = anyio.Event()

    async def ignores_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        ignoring.set()
        await anyio.sleep_forever()  # never reads the disconnect

    previous = _config.set_suite_defaults(_config.Defaults(grace_period=0.05, strict=False))
    try:
        client = make_client(ignores_disconnect, grace_period=None)
    finally:
        _config.set_suite_defaults(previous)
    with anyio.fail_after(5):  # a bound on the test, far above the 0.05 s grace period
        async with client.stream("GET", "/") as response, contextlib.aclosing(response.aiter_raw()) as chunks:
            assert await chunks.__anext__() == b"partial"
        await client.aclose()  # the app, cancelled after 0.05 s, is a finding (strict is off)
    assert ignoring.is_set()


@pytest.mark.asgi_in_process(reason="transcripts are the in-process client's")
@pytest.mark.parametrize("transcripts", [True, False])
async def test_transcripts_can_be_turned_off(make_client: Any, transcripts: bool) -> None:
    async def never_answers(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await anyio.sleep_forever()

    client = make_client(never_answers, timeout=0.05, grace_period=0.01, transcripts=transcripts)
    with pytest.raises(asgitest.ASGITimeoutError) as caught:
        await client.post("/", content=b"x")
    await client.aclose()
    assert "did not start a response within 0.05s" in str(caught.value)
    assert ("last ASGI events of POST /" in str(caught.value)) is transcripts


def test_the_session_classes_show_only_their_documented_methods() -> None:
    """What the sync facade needs from the async session is private: the public surface is
    the documented one (docs/reference/websockets.md)."""
    documented = {"send", "send_text", "send_bytes", "send_json", "receive", "receive_text", "receive_bytes"}
    documented |= {"receive_json", "close", "where", "expect_nothing", "drop"}
    assert {name for name in dir(asgitest.AsyncWebSocketSession) if not name.startswith("_")} == documented
    sync = {name for name in dir(asgitest.WebSocketSession) if not name.startswith("_")}
    assert sync == documented | {"accepted_subprotocol", "extra_headers", "scope"}
    # The live sessions have the same methods (their scope, the server's, is a property too).
    for session in (asgitest.LiveWebSocketSession, asgitest.AsyncLiveWebSocketSession):
        assert {name for name in dir(session) if not name.startswith("_")} == documented | {"scope"}


def test_only_the_loop_thread_module_and_the_faces_know_about_threads() -> None:
    """The async core takes a thread's wake-up as a plain callback (see _loop_thread)."""
    import ast
    import pathlib

    package = pathlib.Path(asgitest.__file__).parent
    knowing = set()
    for module in sorted(package.rglob("*.py")):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if "threading" in names:
                knowing.add(str(module.relative_to(package)))
    # the loop thread; the live server's thread; findings come from several threads
    assert knowing == {"_loop_thread.py", "_live/_server.py", "_report.py"}


def test_parsed_urls_are_kept_within_their_bound_and_url_objects_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx2

    from asgitest import _client

    monkeypatch.setattr(_client, "_KEPT_URLS", 2)
    monkeypatch.setattr(_client, "_base_urls", {})
    monkeypatch.setattr(_client, "_merged_urls", {})
    for number in range(4):
        base = f"http://host{number}.test"
        client = TestClient(echo_scope, base_url=base)  # type: ignore[arg-type]
        assert client.get(f"/path{number}").json()["scope"]["path"] == f"/path{number}"
        assert client.get(httpx2.URL(f"/object{number}")).json()["scope"]["path"] == f"/object{number}"
        client.close()
        assert len(_client._base_urls) <= 2
        assert len(_client._merged_urls) <= 2
    with TestClient(echo_scope, base_url=httpx2.URL("http://object.test")) as client:  # type: ignore[arg-type]
        assert client.get("/x").json()["scope"]["server"][0] == "object.test"
