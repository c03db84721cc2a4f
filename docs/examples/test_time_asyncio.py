"""Virtual time for an async test on asyncio: anyio's plugin runs it on a VirtualTimeLoop."""

# --8<-- [start:asyncio]
import anyio
import pytest

from asgitest import AsyncTestClient, VirtualTimeLoop


async def app(scope, receive, send):
    await anyio.sleep(3600)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"an hour later"})


@pytest.fixture
def anyio_backend():
    # A loop whose clock jumps whenever it is idle, as trio's MockClock(autojump_threshold=0).
    return "asyncio", {"loop_factory": lambda: VirtualTimeLoop(always=True)}


@pytest.mark.anyio
async def test_an_hour_passes_at_once_on_asyncio():
    async with AsyncTestClient(app, timeout=7200) as client:
        began = anyio.current_time()
        assert (await client.get("/")).text == "an hour later"
        assert anyio.current_time() - began >= 3600


# --8<-- [end:asyncio]
