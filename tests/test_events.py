"""Events: the outbox makes delivery follow the commit; durable handlers retry, run
their effect once, and dead-letter; replay after a fix; delivery by real workers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from click.testing import CliRunner

from kernel import Kernel
from kernel.cli import main
from kernel.data.models import DeadLetter, HandledEvent, OutboxEvent
from tests.notes import plugin as notes
from tests.notes.models import Folder

# the worker fixtures of the task tests: a PostgreSQL database, Redis, `lyo worker`
from tests.test_tasks import client_kernel, worker_env, workers  # noqa: F401


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes]


async def eventually(check: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def folders(name: str) -> Any:
    async def check() -> bool:
        return await Folder.filter(name=name).count() == 1

    return check


async def test_committed_events_reach_durable_and_in_process_handlers(lyo_client: Any) -> None:
    response = await lyo_client.post("/api/notes/notes", json={"slug": "e1", "title": "T"})
    assert response.status_code == 201
    await eventually(folders("mirror-e1"))
    assert "e1" in notes.SEEN_IN_PROCESS  # and the always-failing one hurt nobody
    row = await OutboxEvent.get(type="notes.note_created.v1")
    assert row.payload == {"slug": "e1", "title": "T"} and row.dispatched_at is not None


async def test_rolled_back_events_are_never_delivered(lyo_client: Any) -> None:
    body = {"slug": "e2", "title": "T", "fail_after_write": True}
    assert (await lyo_client.post("/api/notes/notes", json=body)).status_code == 500
    await asyncio.sleep(1)  # two relay polls
    assert await OutboxEvent.all().count() == 0
    assert await Folder.filter(name="mirror-e2").count() == 0
    assert "e2" not in notes.SEEN_IN_PROCESS


async def test_a_handler_failing_twice_runs_its_effect_once(lyo_client: Any) -> None:
    notes.MIRROR_FAILURES["e3"] = 2
    await lyo_client.post("/api/notes/notes", json={"slug": "e3", "title": "T"})
    await eventually(folders("mirror-e3"))
    await asyncio.sleep(0.5)
    assert notes.MIRROR_FAILURES["e3"] == 0  # it did fail twice
    assert notes.MIRROR_EFFECTS["e3"] == 1  # and its effect ran once
    assert await HandledEvent.filter(handler_id="notes:mirror").count() == 1


async def test_poisoned_event_is_dead_lettered_then_replayed(lyo_app: Any, lyo_client: Any) -> None:
    notes.MIRROR_FAILURES["e4"] = 100
    await lyo_client.post("/api/notes/notes", json={"slug": "e4", "title": "T"})

    async def dead() -> bool:
        return await DeadLetter.filter(handler_id="notes:mirror").count() == 1

    await eventually(dead)
    letter = await DeadLetter.get(handler_id="notes:mirror")
    assert letter.attempts == 4 and "mirror of e4 failed" in letter.error
    assert letter.envelope["payload"]["slug"] == "e4"

    notes.MIRROR_FAILURES["e4"] = 0  # the fix
    kernel: Kernel = lyo_app.kernel
    assert [d.id for d in await kernel.events.dead()] == [letter.id]
    assert await kernel.events.replay() == 1
    await eventually(folders("mirror-e4"))
    assert await kernel.events.dead() == []


def test_events_cli_lists_and_replays(monkeypatch: Any) -> None:
    runner = CliRunner()
    monkeypatch.setenv("LYO_PLUGINS__MODULES", "tests.notes.plugin")
    dead = runner.invoke(main, ["events", "dead"])
    assert dead.exit_code == 0 and "0 dead letter(s)" in dead.output, dead.output
    replay = runner.invoke(main, ["events", "replay"])
    assert replay.exit_code == 0 and "replayed 0" in replay.output


async def test_workers_deliver_events_published_elsewhere(
    client_kernel: Kernel,  # noqa: F811
    workers: Any,  # noqa: F811
) -> None:
    """PostgreSQL and Redis: the API side publishes; a worker's relay (woken by
    NOTIFY) enqueues the delivery and a worker runs it."""
    workers()
    await client_kernel.events.publish(notes.NoteCreated(slug="w1", title="T"))
    await eventually(folders("mirror-w1"), seconds=30)
    assert await HandledEvent.filter(handler_id="notes:mirror").count() == 1


async def test_purge_deletes_only_what_retention_allows(lyo_app: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from kernel.data.models import TaskRun
    from kernel.tasks.retention import PURGE

    kernel: Kernel = lyo_app.kernel
    old = datetime.now(UTC) - timedelta(days=kernel.settings.retention_days + 1)
    await TaskRun.create(name="notes:x", status="succeeded", finished_at=old)
    await TaskRun.create(name="notes:y", status="succeeded", finished_at=datetime.now(UTC))
    await TaskRun.create(name="notes:z", status="running")
    run = await kernel.tasks.enqueue(PURGE)

    async def purged() -> bool:
        return (await TaskRun.get(id=run.id)).status == "succeeded"

    await eventually(purged)
    assert (await TaskRun.get(id=run.id)).result["task_runs"] == 1
    assert set(await TaskRun.all().values_list("name", flat=True)) >= {"notes:y", "notes:z"}
    assert await TaskRun.filter(name="notes:x").count() == 0


async def test_plugin_list_names_tasks_and_handlers(lyo_client: Any) -> None:
    listing = await (await lyo_client.get("/-/plugins")).get_json()
    plugin = next(p for p in listing["plugins"] if p["name"] == "notes")
    assert plugin["tasks"] == ["notes:echo", "notes:flaky", "notes:write_note"]
    assert plugin["event_handlers"] == [
        "notes:batch",
        "notes:broken",
        "notes:count",
        "notes:mirror",
    ]


async def test_one_relay_round_delivers_every_event_of_a_transaction(lyo_app: Any) -> None:
    from kernel.data.db import transaction

    kernel: Kernel = lyo_app.kernel
    async with transaction():  # committed together: the relay takes them in one round
        for n in range(5):
            await kernel.events.publish(notes.NoteCreated(slug=f"batch{n}", title="T"))
    for n in range(5):
        await eventually(folders(f"mirror-batch{n}"))
    assert await HandledEvent.filter(handler_id="notes:mirror").count() == 5


def delivery(kernel: Kernel, handler: Any) -> tuple[Any, dict[str, Any]]:
    """A task context and an envelope for calling the delivery task directly."""
    import uuid
    from datetime import UTC, datetime

    from kernel import ANONYMOUS, TaskContext
    from kernel.events import Handler

    kernel.events.handlers[handler.id] = handler
    ctx = TaskContext(uuid.uuid4(), "kernel:deliver", 1, ANONYMOUS, None, kernel)
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "notes.note_created.v1",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "request_id": None,
        "payload": {"slug": "d", "title": "T"},
    }
    assert isinstance(handler, Handler)
    return ctx, envelope


async def test_concurrent_deliveries_of_one_event_run_the_effect_once(lyo_app: Any) -> None:
    from kernel.events import Handler
    from kernel.events.delivery import deliver

    effects: list[str] = []

    async def slow(envelope: Any) -> None:
        await asyncio.sleep(0.2)
        effects.append(str(envelope.id))

    handler = Handler("notes:slow", "notes.note_created.v1", slow, None, True, 0, 0.1)
    ctx, envelope = delivery(lyo_app.kernel, handler)
    try:
        answers = await asyncio.gather(
            deliver(ctx, handler.id, envelope), deliver(ctx, handler.id, envelope)
        )
    finally:
        del lyo_app.kernel.events.handlers[handler.id]
    assert sorted(answers) == ["already handled", "handled"]
    assert effects == [envelope["id"]]


async def test_a_handler_that_swallows_a_database_error_is_not_reported_handled(
    lyo_app: Any,
) -> None:
    """PostgreSQL aborts the transaction and would answer COMMIT with a silent ROLLBACK:
    the delivery must fail (and be retried), not succeed with its effect undone."""
    if lyo_app.kernel.db.dialect != "postgres":
        pytest.skip("SQLite goes on after a failed statement")
    from tortoise.exceptions import IntegrityError, TransactionManagementError

    from kernel.events import Handler
    from kernel.events.delivery import deliver

    async def careless(envelope: Any) -> None:
        # the mark exists already in this transaction: a unique violation, caught
        with contextlib.suppress(IntegrityError):
            await HandledEvent.create(handler_id="notes:careless", event_id=envelope.id)

    handler = Handler("notes:careless", "notes.note_created.v1", careless, None, True, 0, 0.1)
    ctx, envelope = delivery(lyo_app.kernel, handler)
    try:
        with pytest.raises(TransactionManagementError):
            await deliver(ctx, handler.id, envelope)
    finally:
        del lyo_app.kernel.events.handlers[handler.id]
    assert await HandledEvent.filter(handler_id="notes:careless").count() == 0
