"""What every framework's app in tests/compat answers alike: one scenario each, run by each module.

Each module's app serves the same routes; its tests call these with a client of that app
(``make_client(make_app())``), so a scenario is written once and each framework keeps its
own test, markers and quirks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ._helpers import collect, first, upload


async def json_query_and_headers(client: Any) -> None:
    """A JSON body, query parameters and a header in; JSON, a status and a header out (/items)."""
    response = await client.post(
        "/items", json={"name": "pen", "price": 1.5}, params={"tag": ["a", "b"]}, headers={"X-Agent": "probe"}
    )
    await client.aclose()
    assert response.status_code == 201
    assert response.headers["x-created"] == "pen"
    assert response.json() == {"item": {"name": "pen", "price": 1.5}, "q": ["a", "b"], "agent": "probe"}


async def forms(client: Any) -> None:
    """An urlencoded and a multipart form (/form)."""
    encoded = await client.post("/form", data={"title": "notes", "tags": "x"})
    multipart = await client.post("/form", **upload())
    await client.aclose()
    assert encoded.json() == {"fields": {"title": "notes", "tags": "x"}, "files": {}}
    assert multipart.json() == {"fields": {"title": "notes"}, "files": {"notes.txt": "line 1\nline 2\n"}}


async def cookies_and_redirects(client: Any, redirect_status: int = 302) -> None:
    """A cookie set on a 303 is followed and sent back; /old's redirect (``redirect_status``,
    the framework's default) not followed on request (/login, /me, /old)."""
    followed = await client.post("/login")
    assert followed.status_code == 200
    assert [r.status_code for r in followed.history] == [303]
    assert followed.json()["session"] == "s3cret"
    assert (await client.get("/me")).json()["session"] == "s3cret"  # the jar sends it again
    not_followed = await client.get("/old", follow_redirects=False)
    assert (not_followed.status_code, not_followed.headers["location"]) == (redirect_status, "/me")
    await client.aclose()


async def redirects_off(client: Any, redirect_status: int = 302) -> Any:
    """A client made with ``follow_redirects=False`` stops at /old's redirect, and a call can still
    follow it; returns that followed response (/old, /me)."""
    stopped = await client.get("/old")
    followed = await client.get("/old", follow_redirects=True)
    await client.aclose()
    assert (stopped.status_code, stopped.headers["location"]) == (redirect_status, "/me")
    assert followed.status_code == 200
    return followed


async def handler_error(make_client: Callable[..., Any], make_app: Callable[[], Any], error: type[Exception]) -> Any:
    """A handler's exception reaches the test, or is a 500 with ``raise_server_exceptions=False``;
    returns the 500 (/boom, whose handler raises ``error("handler failed")``)."""
    client = make_client(make_app())
    with pytest.raises(error, match="handler failed"):
        await client.get("/boom")
    await client.aclose()
    client = make_client(make_app(), raise_server_exceptions=False)
    response = await client.get("/boom")
    await client.aclose()
    assert response.status_code == 500
    return response


async def finite_stream_and_events(client: Any) -> None:
    """A finite stream and finite server-sent events, read to their end (/count, /ticks with ?limit=)."""
    async with client.stream("GET", "/count", params={"limit": 20}) as response:
        lines = await collect(response.aiter_lines())
    async with client.sse("/ticks", params={"limit": 5}) as source:
        events = await collect(source)
    await client.aclose()
    assert lines == [str(n) for n in range(20)]
    assert [(e.event, e.id, e.json()) for e in events] == [("tick", str(n), {"n": n}) for n in range(5)]


async def lifespan_state(make_client: Callable[..., Any], make_app: Callable[[list[str]], Any]) -> None:
    """Startup once on entering the client, state from it in a request (/me), shutdown on leaving."""
    events: list[str] = []
    async with make_client(make_app(events)) as client:
        assert events == ["startup"]
        assert (await client.get("/me")).json()["db"] == "pool-1"
    assert events == ["startup", "shutdown"]


async def endless_stream(client: Any) -> None:
    """The first lines of an endless stream, as the app sends them (/count)."""
    async with client.stream("GET", "/count") as response:
        lines = await first(response.aiter_lines(), 20)
    await client.aclose()
    assert lines == [str(n) for n in range(20)]


async def endless_events(client: Any) -> None:
    """The first server-sent events of an endless stream (/ticks)."""
    async with client.sse("/ticks") as source:
        events = await first(source, 5)
    await client.aclose()
    assert [(e.event, e.id, e.json()) for e in events] == [("tick", str(n), {"n": n}) for n in range(5)]
