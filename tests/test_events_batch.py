"""Batch handlers (``on(..., batch=N)``) and ``publish_many``: a relay round's events
reach a batch handler together, in outbox order, marked handled in one statement; a
redelivery hands it only what it has not handled; a failing batch is split so that only
its poison event becomes a dead letter. Deliveries run in a real worker with Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel import ANONYMOUS, Envelope, Kernel, TaskContext, publish_many, transaction
from kernel.data.models import DeadLetter, HandledEvent, OutboxEvent, TaskRun
from kernel.errors import PluginError
from kernel.events import Handler, on
from kernel.events.delivery import deliver
from tests.notes import plugin as notes
from tests.notes.models import Folder
from tests.test_events import eventually


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes]


def items(*slugs: str) -> list[notes.ItemAdded]:
    return [notes.ItemAdded(slug=slug) for slug in slugs]


async def item_folders() -> list[str]:
    return [f.name for f in await Folder.filter(name__startswith="item-").order_by("id")]


async def batch_sizes() -> list[list[str]]:
    """The slugs of each delivery run of ``notes:batch``, by creation (the runs of one
    relay round, created together, by their slugs)."""
    runs = [
        (run.created_at, [e["payload"]["slug"] for e in run.args["kwargs"]["envelopes"]])
        for run in await TaskRun.filter(name="kernel:deliver")
        if run.args["kwargs"]["handler_id"] == "notes:batch"
    ]
    return [slugs for _, slugs in sorted(runs)]


async def test_publish_many_writes_every_event_in_order_or_none(lyo_app: Any) -> None:
    async with transaction():
        envelopes = await publish_many(items("a", "b", "c"))
    assert [e.payload["slug"] for e in envelopes] == ["a", "b", "c"]
    rows = await OutboxEvent.filter(id__in=[e.id for e in envelopes])
    assert {r.id: r.payload["slug"] for r in rows} == {e.id: e.payload["slug"] for e in envelopes}
    with pytest.raises(RuntimeError):
        async with transaction():
            rolled_back = await publish_many(items("x", "y"))
            raise RuntimeError("undo")
    assert await OutboxEvent.filter(id__in=[e.id for e in rolled_back]).count() == 0
    assert await publish_many([]) == []


async def test_a_round_reaches_a_batch_handler_together_in_outbox_order(
    lyo_app: Any, lyo_worker: None
) -> None:
    async with transaction():  # one relay round takes them all
        await publish_many(items(*(f"r{n}" for n in range(5))))

    async def filed() -> bool:
        return len(await item_folders()) == 5

    await eventually(filed, seconds=30)
    assert await item_folders() == [f"item-r{n}" for n in range(5)]
    assert await batch_sizes() == [[f"r{n}" for n in range(5)]]
    assert await HandledEvent.filter(handler_id="notes:batch").count() == 5


async def test_a_round_larger_than_a_batch_is_cut_into_batches(
    lyo_app: Any, lyo_worker: None
) -> None:
    slugs = [f"c{n:02}" for n in range(25)]
    async with transaction():
        await publish_many(items(*slugs))

    async def filed() -> bool:
        return len(await item_folders()) == 25

    await eventually(filed, seconds=30)
    assert await batch_sizes() == [slugs[:10], slugs[10:20], slugs[20:]]
    # the batches may run side by side in a worker: each in order, not one after another
    assert sorted(await item_folders()) == [f"item-{slug}" for slug in slugs]


async def test_a_poison_event_is_split_out_and_alone_dead_lettered(
    lyo_app: Any, lyo_worker: None
) -> None:
    async with transaction():
        await publish_many(items("p1", "poison-p2", "p3"))

    async def dead() -> bool:
        return await DeadLetter.filter(handler_id="notes:batch").count() == 1

    await eventually(dead, seconds=30)
    await eventually(_folders_are("item-p1", "item-p3"), seconds=30)
    letter = await DeadLetter.get(handler_id="notes:batch")
    assert letter.envelope["payload"]["slug"] == "poison-p2" and letter.attempts == 2
    # the batch, then one delivery per event once it had failed its last try
    first, *split = await batch_sizes()
    assert first == ["p1", "poison-p2", "p3"]
    assert sorted(split) == [["p1"], ["p3"], ["poison-p2"]]
    assert await HandledEvent.filter(handler_id="notes:batch").count() == 2

    kernel: Kernel = lyo_app.kernel
    assert await kernel.events.replay() == 1  # redelivered as a batch of one
    assert (await batch_sizes()).count(["poison-p2"]) == 2


def _folders_are(*names: str) -> Any:
    async def check() -> bool:
        return await item_folders() == list(names)

    return check


def _envelope(slug: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "notes.item_added.v1",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "request_id": None,
        "payload": {"slug": slug},
    }


async def test_a_redelivered_batch_hands_over_only_what_was_not_handled(lyo_app: Any) -> None:
    received: list[list[str]] = []

    async def record(envelopes: list[Envelope]) -> None:
        received.append([e.event.slug for e in envelopes])

    handler = on(notes.ItemAdded, id="notes:record", batch=5)(record)
    kernel: Kernel = lyo_app.kernel
    kernel.events.handlers[handler.id] = handler
    ctx = TaskContext(uuid.uuid4(), "kernel:deliver", 1, ANONYMOUS, None, kernel)
    first, second, third = _envelope("d1"), _envelope("d2"), _envelope("d3")
    try:
        assert await deliver(ctx, handler.id, envelopes=[first, second]) == "handled 2 of 2"
        answer = await deliver(ctx, handler.id, envelopes=[first, second, third, third])
        assert answer == "handled 1 of 4"
        assert await deliver(ctx, handler.id, envelopes=[third]) == "already handled"
    finally:
        del kernel.events.handlers[handler.id]
    assert received == [["d1", "d2"], ["d3"]]
    assert await HandledEvent.filter(handler_id="notes:record").count() == 3


async def test_runs_queued_before_a_handler_changed_shape_are_delivered_its_way(
    lyo_app: Any,
) -> None:
    """Runs of one envelope queued (or dead-lettered) before an upgrade made their
    handler a batch handler, and the reverse, still deliver."""
    received: list[Any] = []

    async def many(envelopes: list[Envelope]) -> None:
        received.append([e.event.slug for e in envelopes])

    async def one(envelope: Envelope) -> None:
        received.append(envelope.event.slug)

    kernel: Kernel = lyo_app.kernel
    ctx = TaskContext(uuid.uuid4(), "kernel:deliver", 1, ANONYMOUS, None, kernel)
    batched = on(notes.ItemAdded, id="notes:many", batch=5)(many)
    single = on(notes.ItemAdded, id="notes:one")(one)
    kernel.events.handlers.update({batched.id: batched, single.id: single})
    try:
        assert await deliver(ctx, batched.id, envelope=_envelope("s1")) == "handled 1 of 1"
        pair = [_envelope("s2"), _envelope("s3")]
        assert await deliver(ctx, single.id, envelopes=pair) == "handled 2 of 2"
    finally:
        del kernel.events.handlers[batched.id], kernel.events.handlers[single.id]
    assert received == [["s1"], "s2", "s3"]


async def test_a_failing_batch_marks_none_of_its_events_handled(lyo_app: Any) -> None:
    async def fail(envelopes: list[Envelope]) -> None:
        await Folder.create(name="item-undone")
        raise RuntimeError("no")

    handler = on(notes.ItemAdded, id="notes:fail", batch=5)(fail)
    kernel: Kernel = lyo_app.kernel
    kernel.events.handlers[handler.id] = handler
    ctx = TaskContext(uuid.uuid4(), "kernel:deliver", 1, ANONYMOUS, None, kernel)
    try:
        with pytest.raises(RuntimeError):
            await deliver(ctx, handler.id, envelopes=[_envelope("f1"), _envelope("f2")])
    finally:
        del kernel.events.handlers[handler.id]
    assert await HandledEvent.filter(handler_id="notes:fail").count() == 0
    assert await item_folders() == []


def test_batch_is_for_durable_handlers_of_one_or_more() -> None:
    async def noop(envelopes: list[Envelope]) -> None:
        return None

    with pytest.raises(PluginError):
        on(notes.ItemAdded, id="notes:x", batch=0)(noop)
    with pytest.raises(PluginError):
        on(notes.ItemAdded, id="notes:x", batch=5, durable=False)(noop)
    assert isinstance(on(notes.ItemAdded, id="notes:x", batch=5)(noop), Handler)
