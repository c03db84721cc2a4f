"""Lifespan through both clients."""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from typing import Any

import anyio
import pytest

from asgitest import ASGIProtocolError, ASGITimeoutError, AsyncTestClient, Receive, Scope, Send, TestClient, _report

from . import live
from .apps import send_json

pytestmark = pytest.mark.anyio


def stateful(events: list[str]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            scope["state"]["pool"] = "db-pool"
            events.append("startup")
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            events.append("shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": scope["state"].get("pool", "none")})
            await receive()
            return
        scope["state"]["mutated"] = True  # a copy: must not leak into other requests
        await send_json(send, dict(scope["state"]))

    return app


@live.LIFESPAN
async def test_startup_and_shutdown_run_on_enter_and_exit(make_client: Any) -> None:
    events: list[str] = []
    async with make_client(stateful(events)) as client:
        assert events == ["startup"]
        assert (await client.get("/")).json() == {"pool": "db-pool", "mutated": True}
        assert (await client.get("/")).json() == {"pool": "db-pool", "mutated": True}
        async with client.websocket_connect("/ws") as ws:
            assert await ws.receive_text() == "db-pool"
    assert events == ["startup", "shutdown"]


@live.LIFESPAN
async def test_without_the_context_manager_no_lifespan_runs(make_client: Any) -> None:
    events: list[str] = []
    client = make_client(stateful(events))
    assert (await client.get("/")).json() == {"mutated": True}
    await client.aclose()
    assert events == []


class StartupError(Exception):
    pass


async def test_a_startup_failure_is_raised_with_the_apps_traceback(make_client: Any) -> None:
    async def broken_startup(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise StartupError("cannot reach the database")

    with pytest.raises(StartupError, match="cannot reach the database") as caught:
        async with make_client(broken_startup):
            pytest.fail("startup must fail")  # pragma: no cover
    assert "broken_startup" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]


async def test_startup_failed_message_is_raised(make_client: Any) -> None:
    async def declines(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "missing SECRET_KEY"})

    with pytest.raises(ASGIProtocolError, match="startup failed: missing SECRET_KEY"):
        async with make_client(declines):
            pytest.fail("startup must fail")  # pragma: no cover


async def test_apps_without_lifespan_support_work(make_client: Any) -> None:
    async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"unsupported scope {scope['type']}")
        await send_json(send, {"ok": True})

    async with make_client(http_only) as client:
        assert (await client.get("/")).json() == {"ok": True}


async def test_a_hanging_startup_times_out(make_client: Any) -> None:
    """In-process the client's entry raises; live the server's start, within the same bound,
    and no server thread is left waiting for the answer."""
    import threading

    async def hangs(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await anyio.sleep_forever()

    with pytest.raises(ASGITimeoutError, match=r"did not answer lifespan.startup within 0.1s"):
        async with make_client(hangs, timeout=0.1):
            pytest.fail("startup must fail")  # pragma: no cover
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("asgitest live server")]


@live.LIFESPAN
async def test_a_hanging_shutdown_times_out(make_client: Any) -> None:
    async def hangs_on_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await anyio.sleep_forever()

    with pytest.raises(ASGITimeoutError, match=r"did not answer lifespan.shutdown within 0.1s"):
        async with make_client(hangs_on_shutdown, timeout=0.1):
            pass


@live.LIFESPAN
async def test_a_shutdown_failure_is_raised(make_client: Any) -> None:
    async def fails_on_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.failed", "message": "could not flush"})

    with pytest.raises(ASGIProtocolError, match="shutdown failed: could not flush"):
        async with make_client(fails_on_shutdown):
            pass


@live.CHECK
@pytest.mark.parametrize("then", ["answers", "hangs"])
async def test_a_lifespan_rule_the_app_breaks_and_swallows_is_raised(make_client: Any, then: str) -> None:
    async def sloppy(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        with contextlib.suppress(ASGIProtocolError):  # swallowed
            await send({"type": "lifespan.startup.done"})  # no such answer
        if then == "answers":
            await send({"type": "lifespan.startup.complete"})
        await receive()

    client = make_client(sloppy, timeout=0.2)
    with pytest.raises(ASGIProtocolError) as caught:
        async with client:
            pytest.fail("the startup must fail")  # pragma: no cover
    assert caught.value.rule == "lifespan-unknown-type"


def interrupted_once(started: Any, ended: Any) -> Any:
    """An app whose first lifespan startup waits for ever (until cancelled); later ones answer."""
    runs: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send_json(send, {"ok": True})
            return
        await receive()
        runs.append(len(runs))
        if len(runs) == 1:
            started.set()
            try:
                await anyio.sleep_forever()
            finally:
                ended.set()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    app.runs = runs  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_startup_interrupted_by_ctrl_c_leaves_the_client_usable(backend: str) -> None:
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.fail("signals reach the main thread only: this test must run there")
    started, ended = threading.Event(), threading.Event()
    app = interrupted_once(started, ended)
    client = TestClient(app, backend=backend)  # type: ignore[arg-type]

    def interrupt() -> None:
        started.wait()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.__enter__()
    finally:
        interrupter.join()
    assert ended.wait(5), "the interrupted startup's app task is cancelled"
    with client:  # not "already running": the interrupted startup left nothing behind
        assert client.get("/").json() == {"ok": True}
    assert app.runs == [0, 1]


async def test_a_startup_the_test_cancels_ends_the_apps_lifespan_task() -> None:
    started, ended = anyio.Event(), anyio.Event()  # the app runs on the test's loop
    app = interrupted_once(started, ended)
    test_scope = anyio.CancelScope()

    async def gives_up(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and not app.runs:
            test_scope.cancel()  # the test gives up on the startup while the app waits
        await app(scope, receive, send)

    client = AsyncTestClient(gives_up)
    with test_scope:
        async with client:
            pytest.fail("the startup was cancelled")  # pragma: no cover
    assert test_scope.cancelled_caught
    assert (await client.get("/")).json() == {"ok": True}
    with anyio.fail_after(5):  # the abandoned startup's app task is cancelled
        await ended.wait()
    await client.aclose()  # no lifespan left to shut down: nothing waits
    assert app.runs == [0]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_async_client_used_on_another_loop_than_its_lifespans_says_so(backend: str) -> None:
    events: list[str] = []
    client = AsyncTestClient(stateful(events), strict=False)
    anyio.run(client.__aenter__, backend=backend)
    assert events == ["startup"]
    _report.take()
    response = anyio.run(client.get, "/", backend=backend)  # another loop: the app still answers
    assert response.status_code == 200
    findings = [finding.message for finding in _report.take()]
    assert len(findings) == 1
    assert "runs on another event loop than the one the client was entered on" in findings[0]
    with pytest.raises(RuntimeError, match="entered on one event loop and left on another"):
        anyio.run(client.__aexit__, backend=backend)
    assert events == ["startup"]  # the shutdown could not run on the second loop
    assert client.is_closed
