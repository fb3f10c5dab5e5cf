"""Review (rev18) of batch handlers: runs queued by a release where a handler was not
(or was) a batch handler are delivered by one where it is (or is not): a handler
switched to ``batch=N`` (as the gamification award handlers were) must not receive
the single envelopes of the runs queued before, nor a plain handler a list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel import Kernel
from kernel.data.models import DeadLetter, HandledEvent
from tests.notes import plugin as notes
from tests.notes.models import Folder
from tests.test_events import eventually


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes]


def _envelope(type_: str, **payload: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "request_id": None,
        "payload": payload,
    }


def _folders(*names: str) -> Any:
    async def check() -> bool:
        return await Folder.filter(name__in=names).count() == len(names)

    return check


async def test_a_single_run_queued_before_the_handler_took_batches_is_delivered(
    lyo_app: Any, lyo_worker: None
) -> None:
    kernel: Kernel = lyo_app.kernel
    # what the relay of the release before `batch=10` queued: one envelope per run
    await kernel.tasks.enqueue(
        "kernel:deliver",
        handler_id="notes:batch",
        envelope=_envelope("notes.item_added.v1", slug="old-1"),
    )
    await eventually(_folders("item-old-1"), seconds=30)
    assert await HandledEvent.filter(handler_id="notes:batch").count() == 1
    assert await DeadLetter.filter(handler_id="notes:batch").count() == 0


async def test_a_batch_run_queued_before_the_handler_took_single_events_is_delivered(
    lyo_app: Any, lyo_worker: None
) -> None:
    kernel: Kernel = lyo_app.kernel
    # what a release where notes:mirror took batches queued (then rolled back)
    await kernel.tasks.enqueue(
        "kernel:deliver",
        handler_id="notes:mirror",
        envelopes=[
            _envelope("notes.note_created.v1", slug="old-a", title="A"),
            _envelope("notes.note_created.v1", slug="old-b", title="B"),
        ],
    )
    await eventually(_folders("mirror-old-a", "mirror-old-b"), seconds=30)
    assert await HandledEvent.filter(handler_id="notes:mirror").count() == 2
    assert await DeadLetter.filter(handler_id="notes:mirror").count() == 0


class _OtherItemAdded(notes.Event):  # another publisher's idea of the payload
    type = "notes.item_added.v1"
    name: str


async def test_a_payload_the_model_rejects_is_split_out_at_once(
    lyo_app: Any, lyo_worker: None
) -> None:
    """One malformed payload neither drops nor holds up its neighbours: the batch is
    handled without it on its first try, and it alone is delivered (and dead-lettered)
    on its own."""
    from kernel import publish_many, transaction
    from kernel.data.models import TaskRun

    async with transaction():  # one relay round: one batch
        await publish_many(
            [notes.ItemAdded(slug="m1"), _OtherItemAdded(name="bad"), notes.ItemAdded(slug="m3")]
        )

    async def dead() -> bool:
        return await DeadLetter.filter(handler_id="notes:batch").count() == 1

    await eventually(_folders("item-m1", "item-m3"), seconds=30)
    await eventually(dead, seconds=30)
    letter = await DeadLetter.get(handler_id="notes:batch")
    assert letter.envelope["payload"] == {"name": "bad"}
    runs = await TaskRun.filter(name="kernel:deliver").order_by("created_at")
    first = runs[0]
    assert len(first.args["kwargs"]["envelopes"]) == 3
    assert (first.status, first.attempts) == ("succeeded", 1)
    assert await HandledEvent.filter(handler_id="notes:batch").count() == 2


def test_batch_must_be_a_whole_number() -> None:
    """``batch=2.5`` (or "10" from a settings file) was accepted, and the relay then
    failed on it every round: no event of any plugin was relayed any more."""
    from kernel.errors import PluginError
    from kernel.events import on

    async def noop(envelopes: list[Any]) -> None:
        return None

    for wrong in (2.5, "10", True):
        with pytest.raises(PluginError):
            on(notes.ItemAdded, id="notes:x", batch=wrong)(noop)  # type: ignore[call-overload]
