"""An async pool made by a fixture, used by the app: AsyncTestClient runs the app on the test's loop."""

# --8<-- [start:pool]
import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI

from asgitest import AsyncTestClient


class Pool:
    """Stands in for an asyncpg or SQLAlchemy pool: usable only on the loop that opened it."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self.rows = {"ada": "admin"}

    async def fetch(self, key: str) -> str | None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("Task got Future attached to a different loop")
        async with self._lock:
            return self.rows.get(key)

    async def close(self) -> None:
        self.rows.clear()


# --8<-- [end:pool]


# --8<-- [start:app]
app = FastAPI()


async def get_pool() -> Pool:
    raise NotImplementedError("the real app opens its pool in its lifespan")


@app.get("/users/{name}/role")
async def role(name: str, pool: Annotated[Pool, Depends(get_pool)]) -> dict[str, str | None]:
    return {"role": await pool.fetch(name)}


# --8<-- [end:app]


# --8<-- [start:test]
@pytest.fixture
def anyio_backend():
    return "asyncio"  # the pool is asyncio's


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    pool = Pool()  # opened on the test's event loop
    yield pool
    await pool.close()


@pytest.fixture
async def client(pool: Pool) -> AsyncIterator[AsyncTestClient]:
    app.dependency_overrides[get_pool] = lambda: pool
    async with AsyncTestClient(app) as client:
        yield client
    app.dependency_overrides.clear()


@pytest.mark.anyio
async def test_the_app_uses_the_fixtures_pool(client: AsyncTestClient, pool: Pool):
    pool.rows["bob"] = "viewer"
    assert (await client.get("/users/bob/role")).json() == {"role": "viewer"}


# --8<-- [end:test]
