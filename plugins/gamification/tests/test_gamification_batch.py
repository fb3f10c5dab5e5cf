"""Batches: the rules engine applied to a batch of events (as the kernel delivers them to
the award handlers) gives what applying them one by one gives; a redelivered batch
awards nothing; a poison event is split out of its batch and alone dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from gam_support import ReplyCreated, course_done, envelope, eventually, lesson_done, recorder
from lyo_gamification import bulk, engine, ledger, privacy
from lyo_gamification.models import Balance, Entry, Moderated, Progress, Streak, Unlock

from kernel import Envelope, publish_many, transaction

DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


def script(prefix: str) -> tuple[list[Envelope], dict[str, str]]:
    """The same story for users named ``<prefix>-...``: repeated users, a course
    completed twice (one award key twice in a batch), five courses (two tiers), lessons
    on three days (a streak of three), a reply already hidden by moderation, and an
    erased user. Also the contents to mark hidden."""
    ada, bob, eve = f"{prefix}-ada", f"{prefix}-bob", f"{prefix}-eve"
    courses = [uuid.uuid4() for _ in range(5)]
    hidden_reply = uuid.uuid4()
    events: list[Any] = [
        lesson_done(ada, courses[0], DAY),
        lesson_done(bob, courses[0], DAY),
        course_done(ada, courses[0], DAY),
        course_done(ada, courses[0], DAY),  # re-completed: awarded once
        lesson_done(eve, courses[0], DAY),  # erased: nothing
        ReplyCreated(reply_id=hidden_reply, discussion_id=uuid.uuid4(), author_id=ada),
        lesson_done(ada, courses[1], DAY + timedelta(days=1)),
        lesson_done(ada, courses[1], DAY + timedelta(days=1)),
        lesson_done(bob, courses[1], DAY + timedelta(days=3)),
        *(course_done(ada, course, DAY + timedelta(days=1)) for course in courses[1:]),
        lesson_done(ada, courses[2], DAY + timedelta(days=2)),
        ReplyCreated(reply_id=uuid.uuid4(), discussion_id=uuid.uuid4(), author_id=bob),
    ]
    # published when they happened (replies have no time of their own)
    times = [getattr(event, "completed_at", DAY) for event in events]
    envelopes = [envelope(event, at) for event, at in zip(events, times, strict=True)]
    return envelopes, {"eve": eve, "hidden": str(hidden_reply)}


async def state(prefix: str) -> dict[str, Any]:
    """What the story left for ``prefix``'s users, with the prefix taken out."""

    def name(user_id: str) -> str:
        return user_id.removeprefix(prefix + "-")

    users = {"user_id__startswith": prefix + "-"}
    entries = await Entry.filter(**users).order_by("id")
    return {
        "balances": {name(b.user_id): b.points for b in await Balance.filter(**users)},
        "entries": sorted(
            (name(e.user_id), e.rule, e.points, e.reverses is not None) for e in entries
        ),
        "progress": {
            (name(p.user_id), p.achievement): p.count for p in await Progress.filter(**users)
        },
        "unlocks": sorted(
            (name(u.user_id), u.achievement, u.tier) for u in await Unlock.filter(**users)
        ),
        "streaks": {
            name(s.user_id): (s.current, s.longest, s.last_day)
            for s in await Streak.filter(**users)
        },
    }


def published(prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """The events the story published, in order, without their entry ids and scopes."""
    out = []
    for each in recorder.PUBLISHED:
        payload = dict(each.payload)
        if not str(payload.get("user_id", "")).startswith(prefix + "-"):
            continue
        payload["user_id"] = payload["user_id"].removeprefix(prefix + "-")
        payload.pop("entry_id", None)
        payload.pop("scope", None)  # course ids of its own
        out.append((each.type, payload))
    return out


async def prepare(prefix: str) -> list[Envelope]:
    envelopes, facts = script(prefix)
    await privacy.erase(facts["eve"])
    await Moderated.create(content=facts["hidden"], hidden=True, changed_at=DAY)
    return envelopes


async def test_a_batch_gives_what_one_by_one_gives(lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    for envelope_ in await prepare("one"):
        async with transaction():
            await engine.handle(envelope_)
    batch = await prepare("many")
    async with transaction():
        outcome = await engine.handle_many(batch)
    one, many = await state("one"), await state("many")
    assert many == one
    assert published("many") == published("one")
    # what the story was meant to exercise did happen
    assert ("ada", "courses", 5) in one["unlocks"] and one["streaks"]["ada"][:2] == (3, 3)
    assert ("ada", "reply_posted", -2, True) in one["entries"]
    assert "eve" not in one["balances"]
    assert outcome.entries == len([e for e in many["entries"] if not e[3]])  # no withdrawals

    async with transaction():  # the same batch again: nothing more
        again = await engine.handle_many(batch)
    assert again == engine.Outcome(0, 0)
    assert await state("many") == many


def test_waves_hold_a_user_and_an_award_key_once_each() -> None:
    def award(user: str, key: str) -> ledger.Award:
        return ledger.Award(user, 1, "r", "rule", key, DAY)

    awards = [award("a", "1"), award("b", "2"), award("a", "3"), award("c", "1"), award("a", "4")]
    assert bulk.waves(awards) == [[0, 1], [2, 3], [4]]


async def test_a_poison_event_is_split_out_of_its_batch(lyo_app: Any, lyo_worker: None) -> None:
    """An event the engine cannot apply (a completion time that has no UTC day) fails
    its batch; once the batch has failed its last try, each event is delivered alone:
    its neighbours are awarded and only it becomes a dead letter."""
    lyo_app.kernel.activate()
    poison = lesson_done("p-bob")
    poison.completed_at = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    async with transaction():  # one relay round: one batch
        await publish_many([lesson_done("p-ada"), poison, lesson_done("p-cy")])

    async def neighbours_awarded() -> bool:
        return await Balance.filter(user_id__in=["p-ada", "p-cy"]).count() == 2

    async def dead() -> list[Any]:
        return await lyo_app.kernel.events.dead()

    await eventually(neighbours_awarded, within=180)
    [letter] = await eventually(dead, within=180)
    assert letter.handler_id == "gamification:award_learning_lesson_completed"
    assert letter.envelope["payload"]["user_id"] == "p-bob"
    assert await Entry.filter(user_id="p-bob").count() == 0
