"""Misbehaving apps, generated: whatever an app sends, the test sees the app's own exception or
one of asgitest's, within its bounds, and the client stays usable.

Each case is an HTTP or WebSocket app that plays a generated script: messages of every type
in any order, fields of the wrong type, raising at some step, never returning. It is driven
through the sync client (whose loop every case shares) and the async one. The default run
tries ``ASGITEST_FUZZ_EXAMPLES`` cases per test (50: 400 in all); set it higher for a long run
(``ASGITEST_FUZZ_EXAMPLES=1000 python -m pytest tests/test_fuzz.py -o timeout=0``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from asgitest import (
    ASGITestError,
    ASGITestWarning,
    AsyncTestClient,
    Receive,
    Scope,
    Send,
    TestClient,
)

EXAMPLES = int(os.environ.get("ASGITEST_FUZZ_EXAMPLES", "50"))
TIMEOUT = 0.2
GRACE = 0.05
#: A case ends within its bounds: the timeout and grace period, plus the cancel limit an app
#: that swallows cancellation costs, plus slack for a loaded machine.
BOUND = TIMEOUT * 3 + GRACE + 1.0

_ANY = st.one_of(st.none(), st.integers(-1, 1200), st.text(max_size=5), st.binary(max_size=5), st.booleans())
_HEADERS = st.one_of(
    st.just([(b"content-type", b"text/plain")]),
    st.just([("x", "y")]),
    st.just([(b"content-length", b"3")]),
    st.just("not a list"),
    st.lists(st.tuples(st.binary(max_size=4), st.binary(max_size=4)), max_size=2),
)
_HTTP_TYPES = st.sampled_from(
    ["http.response.start", "http.response.body", "http.response.trailers", "http.response.debug", "http.nonsense"]
)
_WS_TYPES = st.sampled_from(
    [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.nonsense",
    ]
)


def _message(types: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    fields = st.fixed_dictionaries(
        {"type": types},
        optional={
            "status": st.one_of(st.integers(100, 600), _ANY),
            "headers": _HEADERS,
            "body": st.one_of(st.binary(max_size=8), _ANY),
            "more_body": st.one_of(st.booleans(), _ANY),
            "trailers": st.booleans(),
            "info": st.one_of(st.dictionaries(st.text(max_size=3), st.integers(), max_size=1), _ANY),
            "text": st.one_of(st.text(max_size=5), _ANY),
            "bytes": st.one_of(st.binary(max_size=5), _ANY),
            "code": st.one_of(st.integers(999, 5000), _ANY),
            "reason": st.one_of(st.text(max_size=5), _ANY),
            "subprotocol": _ANY,
        },
    )
    return st.one_of(fields, _ANY)


#: A step of a script: send a message, receive one, raise, wait for ever, or return.
_STEP_KINDS = st.sampled_from(["send", "send", "send", "receive", "raise", "hang", "return"])


def _script(types: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str, Any]]]:
    step = st.tuples(_STEP_KINDS, _message(types))
    return st.lists(step, max_size=6)


class Boom(Exception):
    """What a generated app raises: its own exception, which the test may see as it is."""


def _app(script: list[tuple[str, Any]], swallow: bool) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        for kind, message in script:
            if kind == "send":
                try:
                    await send(message)
                except ASGITestError:
                    if not swallow:
                        raise
            elif kind == "receive":
                await receive()
            elif kind == "raise":
                raise Boom("the app's own failure")
            elif kind == "hang":
                await anyio.sleep_forever()
            else:
                return

    return app


def _expected(error: BaseException) -> bool:
    """What may reach the test: asgitest's documented exceptions, the app's own, httpx2's
    decoding error for a body that does not match its declared encoding, and asgitest's
    warnings (this suite is strict and turns warnings into errors: an app cancelled after
    it closed the handshake and hung, say)."""
    import httpx2

    return isinstance(error, ASGITestError | ASGITestWarning | Boom | httpx2.DecodingError)


def _drive_sync(client: TestClient, websocket: bool) -> None:
    if websocket:
        with client.websocket_connect("/ws") as ws:
            ws.send_text("hello")
            ws.receive(timeout=TIMEOUT)
    else:
        with client.stream("GET", "/") as response:
            for _ in response.iter_raw():
                pass


async def _drive_async(client: AsyncTestClient, websocket: bool) -> None:
    if websocket:
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("hello")
            await ws.receive(timeout=TIMEOUT)
    else:
        async with client.stream("GET", "/") as response:
            async for _ in response.aiter_raw():
                pass


def _raised(run: Any) -> BaseException | None:
    try:
        run()
    except BaseException as error:  # the point: whatever reaches the test
        return error
    return None


async def _araised(run: Any) -> BaseException | None:
    try:
        await run()
    except BaseException as error:  # the point: whatever reaches the test
        return error
    return None


def _check(error: BaseException | None, started: float) -> None:
    """What reached the test is expected, and came within the case's bound."""
    assert error is None or _expected(error), f"{type(error).__module__}.{type(error).__name__}: {error}"
    assert time.monotonic() - started < BOUND


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,  # the same cases every run: nothing to keep between runs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
@seed(15)
@_SETTINGS
@given(data=st.data(), swallow=st.booleans())
def test_a_misbehaving_app_never_reaches_the_sync_client_as_an_internal_error(
    backend: str, websocket: bool, data: st.DataObject, swallow: bool
) -> None:
    script = data.draw(_script(_WS_TYPES if websocket else _HTTP_TYPES))
    client = TestClient(_app(script, swallow), backend=backend, timeout=TIMEOUT, grace_period=GRACE)  # type: ignore[arg-type]
    started = time.monotonic()
    _check(_raised(lambda: _drive_sync(client, websocket)), started)
    started = time.monotonic()
    _check(_raised(client.close), started)
    assert client.is_closed
    with TestClient(_app([], swallow=False), backend=backend, raise_server_exceptions=False) as after:  # type: ignore[arg-type]
        assert after.get("/").status_code == 500  # the loop every sync client shares still serves


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
@seed(15)
@_SETTINGS
@given(data=st.data(), swallow=st.booleans())
def test_a_misbehaving_app_never_reaches_the_async_client_as_an_internal_error(
    backend: str, websocket: bool, data: st.DataObject, swallow: bool
) -> None:
    script = data.draw(_script(_WS_TYPES if websocket else _HTTP_TYPES))

    async def run() -> None:
        client = AsyncTestClient(_app(script, swallow), timeout=TIMEOUT, grace_period=GRACE)
        started = time.monotonic()
        _check(await _araised(lambda: _drive_async(client, websocket)), started)
        started = time.monotonic()
        _check(await _araised(client.aclose), started)

    anyio.run(run, backend=backend)
