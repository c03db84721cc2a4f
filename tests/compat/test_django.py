"""Django's ASGI handler for HTTP, and a Django Channels consumer for WebSockets, behind one ProtocolTypeRouter."""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import django
import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.urls import path

from asgitest import WebSocketDisconnect as ClientWebSocketDisconnect

from .. import live
from . import _contract as contract
from ._helpers import abandons_generators, base_url_host, first, send_after_disconnect

pytestmark = pytest.mark.anyio

# Django's settings are process-wide: configure them once, only if nobody did. ROOT_URLCONF is this module.
if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="asgitest-compat-only",
        ALLOWED_HOSTS=["testserver", "127.0.0.1"],  # in-process and --asgi-live hosts
        ROOT_URLCONF=__name__,
        # CommonMiddleware validates the Host header; no CSRF or sessions: the views below are the whole app.
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        DATABASES={},
        USE_TZ=True,
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    )
    django.setup()


@pytest.fixture(params=["asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Django's ASGI handler and asgiref's sync_to_async (so Channels too) are asyncio-only: on trio the
    first request fails with "There is no current event loop"."""
    return str(request.param)


class Boom(Exception):
    pass


# -- HTTP: Django views -------------------------------------------------------------------------


async def items(request: HttpRequest) -> JsonResponse:
    item = json.loads(request.body)
    body = {"item": item, "q": request.GET.getlist("tag"), "agent": request.headers["X-Agent"]}
    return JsonResponse(body, status=201, headers={"X-Created": item["name"]})


async def form(request: HttpRequest) -> JsonResponse:
    files = {f.name: f.read().decode() for f in request.FILES.values()}
    return JsonResponse({"fields": request.POST.dict(), "files": files})


async def login(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect("/me")
    response.status_code = 303
    response.set_cookie("session", "s3cret", httponly=True)
    return response


def me(request: HttpRequest) -> JsonResponse:
    """A sync view: Django runs it in a worker thread."""
    return JsonResponse({"session": request.COOKIES.get("session")})


async def old(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/me")


def numbers(request: HttpRequest) -> Iterable[int]:
    limit = request.GET.get("limit")
    return itertools.count() if limit is None else range(int(limit))


async def count(request: HttpRequest) -> StreamingHttpResponse:
    async def lines() -> AsyncIterator[str]:
        for number in numbers(request):
            yield f"{number}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


async def ticks(request: HttpRequest) -> StreamingHttpResponse:
    async def events() -> AsyncIterator[str]:
        for number in numbers(request):
            yield f'event: tick\nid: {number}\ndata: {{"n": {number}}}\n\n'

    return StreamingHttpResponse(events(), content_type="text/event-stream")


async def boom(request: HttpRequest) -> HttpResponse:
    raise Boom("handler failed")


urlpatterns = [
    path("items", items),
    path("form", form),
    path("login", login),
    path("me", me),
    path("old", old),
    path("count", count),
    path("ticks", ticks),
    path("boom", boom),
]


# -- WebSockets: Channels consumers -------------------------------------------------------------


class Lobby(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Joins the 'lobby' group; broadcasts what a member says; echoes bytes reversed."""

    async def connect(self) -> None:
        if self.scope["query_string"] != b"token=ok":
            await self.close(code=4403)
            return
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard("lobby", self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if bytes_data is not None:
            await self.send(bytes_data=bytes_data[::-1])
        else:
            await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content == "bye":
            await self.close(code=4001)
        elif content == "crash":
            raise Boom("consumer failed")
        else:
            await self.channel_layer.group_send("lobby", {"type": "lobby.message", "said": content})

    async def lobby_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"said": event["said"]})


def make_app() -> ProtocolTypeRouter:
    return ProtocolTypeRouter(
        {"http": get_asgi_application(), "websocket": URLRouter([path("ws/lobby", Lobby.as_asgi())])}
    )


async def test_json_query_and_headers(make_client: Any) -> None:
    await contract.json_query_and_headers(make_client(make_app()))


async def test_urlencoded_and_multipart_forms(make_client: Any) -> None:
    await contract.forms(make_client(make_app()))


async def test_cookies_persist_and_redirects(make_client: Any) -> None:
    await contract.cookies_and_redirects(make_client(make_app()))


@base_url_host
async def test_hosts_outside_allowed_hosts_are_a_400(make_client: Any) -> None:
    """Quirk: Django checks the Host header against ALLOWED_HOSTS; its test runner adds 'testserver' for
    you, asgitest does not: list 'testserver' (asgitest's default host) in the settings."""
    client = make_client(make_app(), base_url="http://elsewhere.example")
    response = await client.get("/me")
    await client.aclose()
    assert response.status_code == 400


async def test_no_lifespan_support(make_client: Any) -> None:
    """Quirk: neither Django's ASGI handler nor Channels' router speaks lifespan (they raise on the scope);
    `async with make_client(app)` goes on without it, so startup work belongs in AppConfig.ready()."""
    async with make_client(make_app(), cookies={"session": "c"}) as client:
        assert (await client.get("/me")).json() == {"session": "c"}


async def test_stream_and_server_sent_events(make_client: Any) -> None:
    await contract.finite_stream_and_events(make_client(make_app()))


@send_after_disconnect
@abandons_generators
@pytest.mark.filterwarnings(r"ignore:Unclosed file <tempfile\.SpooledTemporaryFile:ResourceWarning")
async def test_leaving_a_stream_early_lets_client_disconnected_out(make_client: Any) -> None:
    """Quirk: an endless stream is read as Django sends it, but when the test leaves it, the view's next
    send raises ClientDisconnected (an OSError, as ASGI 2.4 asks of servers). Django's handler expects a
    cancellation there: it lets the OSError out (asgitest takes it for a normal disconnect) and leaves the
    request's body file unclosed, a ResourceWarning wherever it is garbage-collected. uvicorn (ASGI 2.3)
    drops sends after a disconnect instead."""
    escaped: list[str] = []
    django_app = make_app()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await django_app(scope, receive, send)
        except OSError as exc:
            escaped.append(type(exc).__name__)  # swallowed: nothing keeps its frames after the test

    client = make_client(app)
    async with client.stream("GET", "/count") as response:
        lines = await first(response.aiter_lines(), 20)
    await client.aclose()
    gc.collect()  # collect the leaked file here, under this test's filter
    assert lines == [str(n) for n in range(20)]
    assert escaped == ["ClientDisconnected"]


async def test_view_exception_is_always_a_500(make_client: Any) -> None:
    """Quirk: Django turns a view's exception into its 500 page (and logs it to django.request), so
    raise_server_exceptions=True has nothing to raise; Channels consumers, below, do let theirs out."""
    for raise_server_exceptions in (True, False):
        client = make_client(make_app(), raise_server_exceptions=raise_server_exceptions)
        response = await client.get("/boom")
        await client.aclose()
        assert response.status_code == 500
        assert "Server Error (500)" in response.text


async def test_channels_echo_broadcast_and_close_code(make_client: Any) -> None:
    client = make_client(make_app())
    async with (
        client.websocket_connect("/ws/lobby?token=ok") as ada,
        client.websocket_connect("/ws/lobby?token=ok") as bob,
    ):
        await ada.send_json({"hi": "all"})
        assert await ada.receive_json() == {"said": {"hi": "all"}}
        assert await bob.receive_json() == {"said": {"hi": "all"}}  # through the in-memory channel layer
        await bob.send_bytes(b"abc")
        assert await bob.receive_bytes() == b"cba"
        await bob.send_json("bye")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await bob.receive_json()
        assert caught.value.code == 4001
    await client.aclose()


@live.RAISE
async def test_channels_consumer_exception_reaches_the_test_or_is_a_1011(make_client: Any) -> None:
    client = make_client(make_app())
    with pytest.raises(Boom, match="consumer failed"):
        async with client.websocket_connect("/ws/lobby?token=ok") as ws:
            await ws.send_json("crash")
            await ws.receive_json()
    await client.aclose()

    client = make_client(make_app(), raise_server_exceptions=False)
    async with client.websocket_connect("/ws/lobby?token=ok") as ws:
        await ws.send_json("crash")
        with pytest.raises(ClientWebSocketDisconnect) as caught:
            await ws.receive_json()
        assert caught.value.code == 1011
    await client.aclose()


@live.SERVER
async def test_channels_close_in_connect_rejects_the_handshake(make_client: Any) -> None:
    """Quirk: a consumer's close() in connect() rejects the handshake with its code (a server answers 403),
    then the consumer waits for websocket.disconnect before it returns."""
    client = make_client(make_app(), grace_period=0.1)
    with pytest.raises(ClientWebSocketDisconnect) as caught:
        async with client.websocket_connect("/ws/lobby?token=bad"):
            pytest.fail("the handshake must fail")  # pragma: no cover
    assert caught.value.code == 4403
    await client.aclose()
