"""Client disconnects: leaving a stream early is a disconnect the app can see."""

# --8<-- [start:app]
import itertools
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from asgitest import TestClient

app = FastAPI()
seen: list[str] = []


@app.get("/jobs/{name}/progress")
async def progress(name: str, request: Request) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for step in itertools.count(1):
            if await request.is_disconnected():
                seen.append(f"{name}: client left")
                return
            yield f"{name}: step {step}\n"
            await anyio.sleep(0.01)  # a step of work

    return StreamingResponse(lines(), media_type="text/plain")


# --8<-- [end:app]


# --8<-- [start:test]
def test_leaving_the_stream_is_a_disconnect():
    with TestClient(app) as client:
        with client.stream("GET", "/jobs/backup/progress") as response:
            assert next(response.iter_lines()) == "backup: step 1"
        # Leaving the block sent http.disconnect; wait for the app to finish with it.
        client.wait_idle()
    assert seen == ["backup: client left"]


# --8<-- [end:test]
