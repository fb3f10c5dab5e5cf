"""What first-party plugins needed and a third party may use too: reading task runs
(``kernel.task_run``, ``kernel.count_task_runs``), the 202 answer of a queued task
(``kernel.Accepted``, ``kernel.accepted``) and, in ``kernel.testing``, a recording event
handler (``recorder``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import kernel
from kernel import Event, Identity, publish, transaction
from kernel.testing import recorder, token_plugin
from tests.notes import plugin as notes

ada = Identity(id="ada", kind="user")
ADA = {"Authorization": "Bearer ada"}
RECORDER = recorder("notes.thing_happened.v1", name="seen")


class ThingHappened(Event):
    type = "notes.thing_happened.v1"
    what: str


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes, token_plugin({"ada": ada}), RECORDER]


async def test_a_queued_task_is_answered_with_the_public_accepted(lyo_client: Any) -> None:
    response = await lyo_client.post("/api/notes/jobs", json={"slug": "a"}, headers=ADA)
    assert response.status_code == 202
    body = await response.get_json()
    task_id = body["task_id"]
    assert body == {
        "task_id": task_id,
        "status_url": f"/api/tasks/{task_id}",
        "topic": f"task:{task_id}",
    }
    run = await kernel.task_run(task_id)
    assert run is not None and run.name == "notes:write_note" and run.owner_id == "ada"
    with pytest.raises(AttributeError):  # a snapshot, not the ORM row
        run.save  # type: ignore[attr-defined]  # noqa: B018


async def test_task_runs_are_read_and_counted(lyo_client: Any) -> None:
    for slug in ("a", "b"):
        assert (
            await lyo_client.post("/api/notes/jobs", json={"slug": slug}, headers=ADA)
        ).status_code == 202
    assert await kernel.count_task_runs("notes:write_note", owner="ada") == 2
    assert await kernel.count_task_runs("notes:write_note", owner="bob") == 0
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await kernel.count_task_runs("notes:write_note", since=tomorrow) == 0
    assert await kernel.task_run(uuid.uuid4()) is None
    assert await kernel.task_run("not-a-run-id") is None


def test_accepted_is_built_from_any_run() -> None:
    run_id = uuid.uuid4()
    answer = kernel.accepted(type("Run", (), {"id": run_id})())
    assert answer == kernel.Accepted(
        task_id=run_id, status_url=f"/api/tasks/{run_id}", topic=f"task:{run_id}"
    )


async def test_the_recorder_sees_committed_events_and_can_hold_them(lyo_app: Any) -> None:
    RECORDER.clear()
    lyo_app.kernel.activate()
    async with transaction():
        await publish(ThingHappened(what="first"))
    for _ in range(200):
        if RECORDER.events:
            break
        await asyncio.sleep(0.01)
    assert RECORDER.payloads("notes.thing_happened.v1") == [{"what": "first"}]
    gate = RECORDER.hold("notes.thing_happened.v1")

    async def second() -> None:
        async with transaction():
            await publish(ThingHappened(what="second"))

    job = asyncio.create_task(second())
    await asyncio.sleep(0.2)
    assert len(RECORDER.of("notes.thing_happened.v1")) == 1  # held back
    gate.set()
    await asyncio.wait_for(job, 30)
    assert [e.payload["what"] for e in RECORDER.events] == ["first", "second"]
    RECORDER.clear()
