"""Background tasks: what a response waits for, and how to wait for the rest."""

# --8<-- [start:app]
import itertools

import anyio
import pytest
from fastapi import BackgroundTasks, FastAPI

from asgitest import TestClient

app = FastAPI()
jobs: dict[int, str] = {}
job_ids = itertools.count(1)


async def run(job_id: int, fail: bool) -> None:
    await anyio.sleep(0.05)  # the work
    if fail:
        raise RuntimeError(f"job {job_id} failed")
    jobs[job_id] = "done"


@app.post("/jobs")
async def start_job(background_tasks: BackgroundTasks, fail: bool = False) -> dict[str, int | str]:
    job_id = next(job_ids)
    jobs[job_id] = "queued"
    background_tasks.add_task(run, job_id, fail)
    return {"id": job_id, "status": "queued"}


@app.get("/jobs/{job_id}")
async def job_status(job_id: int) -> dict[str, str]:
    return {"status": jobs[job_id]}


# --8<-- [end:app]


# --8<-- [start:default]
def test_a_request_returns_once_its_background_tasks_ran():
    with TestClient(app) as client:
        job = client.post("/jobs").json()
        assert client.get(f"/jobs/{job['id']}").json() == {"status": "done"}


# --8<-- [end:default]


# --8<-- [start:no-wait]
def test_the_test_runs_alongside_the_background_task():
    with TestClient(app, wait_for_app=False) as client:
        job = client.post("/jobs").json()  # returns with the body; the task runs on
        assert job["status"] == "queued"
        client.wait_idle()  # every app task has finished
        assert client.get(f"/jobs/{job['id']}").json() == {"status": "done"}


def test_a_failing_background_task_is_raised_by_wait_idle():
    with TestClient(app) as client:
        client.post("/jobs", params={"fail": True}, extensions={"wait_for_app": False})
        with pytest.raises(RuntimeError, match="failed"):
            client.wait_idle()


# --8<-- [end:no-wait]
