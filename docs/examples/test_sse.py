"""Server-sent events: `client.sse()` reads them as the app sends them, endless streams included."""

# --8<-- [start:app]
import itertools
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from asgitest import AsyncTestClient, TestClient

app = FastAPI()


@app.get("/ticks")
async def ticks(limit: int | None = None) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        numbers = itertools.count() if limit is None else range(limit)
        for number in numbers:
            yield f"event: tick\nid: {number}\ndata: {number}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


# --8<-- [end:app]


# --8<-- [start:sync]
def test_an_endless_stream():
    with TestClient(app) as client, client.sse("/ticks") as source:
        events = list(itertools.islice(source, 3))  # then leave: the app gets http.disconnect
    assert [(event.event, event.id, event.data) for event in events] == [
        ("tick", "0", "0"),
        ("tick", "1", "1"),
        ("tick", "2", "2"),
    ]


# --8<-- [end:sync]


# --8<-- [start:async]
@pytest.mark.anyio
async def test_a_finite_stream():
    async with AsyncTestClient(app) as client, client.sse("/ticks", params={"limit": 3}) as source:
        data = [event.data async for event in source]
    assert data == ["0", "1", "2"]


# --8<-- [end:async]
