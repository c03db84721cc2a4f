"""The pytest plugin, black-box: pytester runs small test files in a fresh pytest and we read the outcome."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

# pytester restores sys.modules after each in-process run, dropping the modules first imported
# there; importing one of them again later makes a second copy of half a package (Starlette's
# routing, then FastAPI's, no longer agree). What the runs below import is imported here first.
import starlette.applications  # noqa: E402
import starlette.background  # noqa: E402
import starlette.responses  # noqa: E402
import starlette.routing  # noqa: E402, F401

import asgitest._live  # noqa: E402, F401  (uvicorn)

APP = """
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from contextlib import asynccontextmanager

import anyio

STATE = {"lifespans": 0, "closed": 0}

@asynccontextmanager
async def lifespan(app):
    STATE["lifespans"] += 1
    yield {"greeting": "hello"}
    STATE["closed"] += 1

async def home(request):
    return JSONResponse({"greeting": request.state.greeting})

async def slow(request):
    await anyio.sleep(30)
    return PlainTextResponse("late")

async def fail(request):
    raise ValueError("the app failed on the server")

def failing_task():
    raise ValueError("the background task failed")

async def then_fail(request):
    from starlette.background import BackgroundTask

    return PlainTextResponse("ok", background=BackgroundTask(failing_task))

async def login(request):
    response = JSONResponse({"user": request.query_params["name"]})
    response.set_cookie("user", request.query_params["name"])
    return response

async def me(request):
    return JSONResponse({"user": request.cookies.get("user"), "greeting": request.state.greeting})

async def echo(websocket):
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(text.upper())
    await websocket.close()

def make_app():
    return Starlette(
        routes=[
            Route("/", home),
            Route("/slow", slow),
            Route("/fail", fail),
            Route("/login", login),
            Route("/then-fail", then_fail),
            Route("/me", me),
            WebSocketRoute("/ws", echo),
        ],
        lifespan=lifespan,
    )

@pytest.fixture
def app():
    return make_app()
"""


#: pytest-asyncio and anyio's plugin are both installed; each run keeps the one it tests.
WITHOUT_ASYNCIO = ("-p", "no:asyncio")
WITH_ASYNCIO = ("-p", "no:anyio", "-o", "asyncio_default_fixture_loop_scope=function")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(APP)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester


def test_the_sync_fixture_runs_the_lifespan_and_closes(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import threading
        from conftest import STATE

        def test_home(asgi_client):
            assert asgi_client.get("/").json() == {"greeting": "hello"}
            with asgi_client.websocket_connect("/ws") as ws:
                ws.send_text("hi")
                assert ws.receive_text() == "HI"

        def test_after():
            assert STATE == {"lifespans": 1, "closed": 1}
            # the loop thread is the process's, shared by every sync client: one, still there
            assert [t.name for t in threading.enumerate()].count("asgitest loop (asyncio)") == 1
        """
    )
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=2)


ASYNC_TESTS = textwrap.dedent("""
    @MARK
    async def test_home(async_asgi_client):
        assert (await async_asgi_client.get("/")).json() == {"greeting": "hello"}
        async with async_asgi_client.websocket_connect("/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "HI"

    def test_after():
        from conftest import STATE
        assert STATE["lifespans"] == STATE["closed"] >= 1
""")


#: The head of a test file whose MARK runs its async tests under anyio's plugin, on both backends.
ON_BOTH_BACKENDS = textwrap.dedent("""
    import pytest

    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(request):
        return request.param

    MARK = pytest.mark.anyio
""")


def test_the_async_fixture_under_anyio_on_asyncio_and_trio(project: pytest.Pytester) -> None:
    project.makepyfile(ON_BOTH_BACKENDS + ASYNC_TESTS)
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=3)


@pytest.mark.parametrize("loop_scope", ["function", "module", "session"])
def test_the_async_fixture_under_pytest_asyncio(project: pytest.Pytester, loop_scope: str) -> None:
    project.makepyfile(f"import pytest\nMARK = pytest.mark.asyncio(loop_scope={loop_scope!r})\n" + ASYNC_TESTS)
    project.runpytest(*WITH_ASYNCIO).assert_outcomes(passed=2)


def test_the_async_fixture_under_pytest_asyncio_auto_mode(project: pytest.Pytester) -> None:
    project.makepyfile("MARK = lambda test: test\n" + ASYNC_TESTS)
    project.runpytest(*WITH_ASYNCIO, "-o", "asyncio_mode=auto").assert_outcomes(passed=2)


def test_options_set_the_timeout(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from asgitest import ASGITimeoutError

        def test_slow(asgi_client):
            with pytest.raises(ASGITimeoutError, match=r"within 0\\.2s"):
                asgi_client.get("/slow")
        """
    )
    project.runpytest(*WITHOUT_ASYNCIO, "--asgi-timeout", "0.2", "--asgi-grace-period", "0").assert_outcomes(passed=1)
    project.makeini("[pytest]\nasgitest_timeout = 0.2\nasgitest_grace_period = 0\n")
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=1)


def test_strictness_is_off_by_default_and_the_options_set_it_for_every_client(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from asgitest import TestClient

        async def sloppy(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x y", b"1")]})
            await send({"type": "http.response.body", "body": b"ok"})

        @pytest.fixture
        def app():
            return sloppy

        def test_fixture(asgi_client):
            assert asgi_client.get("/").text == "ok"

        def test_own_client():
            with TestClient(sloppy) as client:  # made by the test: the options reach it too
                assert client.get("/").text == "ok"
        """
    )
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=2)
    for strict in (["--asgi-strict"], ["-o", "asgitest_strict=true"]):
        result = project.runpytest(*strict, *WITHOUT_ASYNCIO)
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(["*ASGI rule ?header-name-token? broken*"])
    project.runpytest("--asgi-relaxed", "-o", "asgitest_strict=true", *WITHOUT_ASYNCIO).assert_outcomes(passed=2)


def test_the_timeout_option_bounds_clients_the_test_makes_itself(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        """
        import anyio
        import pytest
        from asgitest import ASGITimeoutError, TestClient

        async def slow(scope, receive, send):
            await anyio.sleep(0.3)  # simulated work
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        def test_slow():
            with TestClient(slow) as client:
                assert client.get("/").text == "ok"
        """
    )
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=1)
    result = project.runpytest("--asgi-timeout", "0.05", *WITHOUT_ASYNCIO)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ASGITimeoutError*within 0.05s*"])
    monkeypatch.setenv("ASGITEST_TIMEOUT", "0.05")  # without the option, the environment decides
    project.runpytest_subprocess("-p", "no:asgitest", *WITHOUT_ASYNCIO).assert_outcomes(failed=1)
    project.runpytest("--asgi-timeout", "none", *WITHOUT_ASYNCIO).assert_outcomes(passed=1)


def test_findings_are_listed_under_the_test_that_caused_them(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from asgitest import TestClient

        async def echo(scope, receive, send):
            await receive()
            await send({"type": "websocket.accept"})
            await receive()

        def test_leaves_a_session_open():
            client = TestClient(echo)
            client.websocket_connect("/ws").__enter__()
            client.close()

        def test_clean():
            client = TestClient(echo)
            with client.websocket_connect("/ws"):
                pass
            client.close()
        """
    )
    for parallel in ([], ["-n", "2"]):
        result = project.runpytest(*parallel, *WITHOUT_ASYNCIO)
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [
                "*= asgitest findings =*",
                "1 finding(s) that failed no test*",
                "*::test_leaves_a_session_open: UnclosedConnectionWarning: WebSocket session to /ws: 1 left open*",
            ]
        )
        assert "test_clean: " not in result.stdout.str()


LIVE_TESTS = """
    import pytest
    from asgitest import LiveTestClient, TestClient

    def test_live(asgi_client):
        assert isinstance(asgi_client, LiveTestClient)
        assert asgi_client.get("/").json() == {"greeting": "hello"}
        with asgi_client.websocket_connect("/ws") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "HI"

    @pytest.mark.asgi_in_process(reason="checks the client type")
    def test_in_process(asgi_client):
        assert isinstance(asgi_client, TestClient)

    def test_fails_on_the_server(asgi_client):
        # Starlette's error middleware answers 500 and then re-raises: the exception reaches the
        # server as the response does, so this call raises it, or the server's stop at teardown.
        asgi_client.get("/fail")
"""


def test_live_mode_serves_the_app_and_raises_its_errors(project: pytest.Pytester) -> None:
    project.makepyfile(LIVE_TESTS)
    result = project.runpytest("--asgi-live", *WITHOUT_ASYNCIO)
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("errors")) in {(2, 1, None), (3, None, 1)}
    result.stdout.fnmatch_lines(["*ValueError: the app failed on the server*"])


def test_live_mode_in_parallel(project: pytest.Pytester) -> None:
    project.makepyfile(
        **{
            f"test_live_{number}": """
                from asgitest import LiveTestClient

                def test_live(asgi_client):
                    assert isinstance(asgi_client, LiveTestClient)
                    assert asgi_client.get("/").json() == {"greeting": "hello"}
            """
            for number in range(4)
        }
    )
    project.runpytest_subprocess("-n", "2", "--asgi-live", *WITHOUT_ASYNCIO).assert_outcomes(passed=4)


def test_the_live_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from asgitest import AsyncLiveTestClient

        @pytest.fixture(params=["asyncio", "trio"])
        def anyio_backend(request):
            return request.param

        @pytest.mark.asgi_live
        @pytest.mark.anyio
        async def test_live(async_asgi_client, anyio_backend):
            assert isinstance(async_asgi_client, AsyncLiveTestClient)
            assert (await async_asgi_client.get("/")).json() == {"greeting": "hello"}
        """
    )
    project.runpytest(*WITHOUT_ASYNCIO).assert_outcomes(passed=2)


FACTORY_TESTS = textwrap.dedent("""
    import pytest
    from conftest import STATE

    MADE = []

    def test_three_users_each_with_their_cookies(asgi_client, asgi_client_factory):
        users = {name: asgi_client_factory(headers={"x-user": name}) for name in ("ada", "bob")}
        users["cyd"] = asgi_client
        for name, client in users.items():
            assert client.get("/login", params={"name": name}).json() == {"user": name}
        for name, client in users.items():  # each jar kept its own cookie; the lifespan state is shared
            assert client.get("/me").json() == {"user": name, "greeting": "hello"}
            with client.websocket_connect("/ws") as ws:
                ws.send_text(name)
                assert ws.receive_text() == name.upper()
        assert users["ada"].headers["x-user"] == "ada"
        assert users["ada"].base_url == asgi_client.base_url  # live: the same server
        assert STATE["lifespans"] == 1
        MADE.extend([users["ada"], users["bob"]])

    def test_they_were_closed_and_the_lifespan_ran_once():
        assert STATE == {"lifespans": 1, "closed": 1}
        assert all(client.is_closed for client in MADE)

    def test_the_loop_is_shared_so_the_backend_cannot_differ(asgi_client_factory):
        with pytest.raises(TypeError, match="backend cannot differ"):
            asgi_client_factory(backend="trio")
""")


@pytest.mark.parametrize("mode", [(), ("--asgi-live",)])
def test_the_sync_client_factory(project: pytest.Pytester, mode: tuple[str, ...]) -> None:
    project.makepyfile(FACTORY_TESTS)
    project.runpytest(*mode, *WITHOUT_ASYNCIO).assert_outcomes(passed=3)


ASYNC_FACTORY_TESTS = textwrap.dedent("""
    from conftest import STATE

    MADE = []

    @MARK
    async def test_three_users_each_with_their_cookies(async_asgi_client, async_asgi_client_factory):
        users = {"ada": async_asgi_client_factory(), "bob": async_asgi_client_factory(), "cyd": async_asgi_client}
        for name, client in users.items():
            assert (await client.get("/login", params={"name": name})).json() == {"user": name}
        for name, client in users.items():
            assert (await client.get("/me")).json() == {"user": name, "greeting": "hello"}
            async with client.websocket_connect("/ws") as ws:
                await ws.send_text(name)
                assert await ws.receive_text() == name.upper()
        async with async_asgi_client_factory() as dan:  # entering one runs no second lifespan
            assert (await dan.get("/me")).json() == {"user": None, "greeting": "hello"}
        assert STATE["lifespans"] == STATE["closed"] + 1  # this test's, alone
        MADE.extend([users["ada"], users["bob"]])

    def test_they_were_closed_and_the_lifespan_ran_once():
        assert STATE["lifespans"] == STATE["closed"]
        assert all(client.is_closed for client in MADE)
""")


@pytest.mark.parametrize("mode", [(), ("--asgi-live",)])
def test_the_async_client_factory_under_anyio(project: pytest.Pytester, mode: tuple[str, ...]) -> None:
    project.makepyfile(ON_BOTH_BACKENDS + ASYNC_FACTORY_TESTS)
    project.runpytest(*mode, *WITHOUT_ASYNCIO).assert_outcomes(passed=3)


def test_the_async_client_factory_under_pytest_asyncio(project: pytest.Pytester) -> None:
    project.makepyfile("import pytest\nMARK = pytest.mark.asyncio\n" + ASYNC_FACTORY_TESTS)
    project.runpytest(*WITH_ASYNCIO).assert_outcomes(passed=2)


def test_a_factory_client_s_failure_is_raised_at_the_end_of_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_background_failure(async_asgi_client_factory):
            client = async_asgi_client_factory()
            response = await client.get("/then-fail", extensions={"wait_for_app": False})
            assert response.text == "ok"  # the task fails after the response: raised at the end
        """
    )
    result = project.runpytest(*WITHOUT_ASYNCIO)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: the background task failed*"])
