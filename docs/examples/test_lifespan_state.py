"""Lifespan state: what the lifespan yields reaches every request, while the client is entered."""

# --8<-- [start:app]
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI, Request

from asgitest import AsyncTestClient, TestClient


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
    cache: dict[str, str] = {}
    yield {"cache": cache}  # becomes scope["state"], and request.state in handlers
    cache.clear()


app = FastAPI(lifespan=lifespan)


@app.put("/cache/{key}")
async def put(key: str, value: str, request: Request) -> dict[str, str]:
    request.state.cache[key] = value
    return {key: value}


@app.get("/cache/{key}")
async def get(key: str, request: Request) -> dict[str, str | None]:
    return {key: request.state.cache.get(key)}


# --8<-- [end:app]


# --8<-- [start:test]
def test_state_is_shared_by_requests():
    with TestClient(app) as client:
        client.put("/cache/colour", params={"value": "blue"})
        assert client.get("/cache/colour").json() == {"colour": "blue"}
        assert client.app_state["cache"] == {"colour": "blue"}  # the lifespan's state, from the test


def test_without_with_there_is_no_lifespan():
    client = TestClient(app)
    with pytest.raises(AttributeError, match="'State' object has no attribute 'cache'"):
        client.get("/cache/colour")
    client.close()


@pytest.mark.anyio
async def test_state_async():
    async with AsyncTestClient(app) as client:
        await client.put("/cache/colour", params={"value": "red"})
        assert (await client.get("/cache/colour")).json() == {"colour": "red"}


# --8<-- [end:test]
