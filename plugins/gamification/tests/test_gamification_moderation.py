"""Moderated community posts: their awards are withdrawn by compensating entries and
restored on unhiding, once each way; counters, balances and boards follow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gam_support import ADA, BOB, ContentModerated, ReactionAdded, ReplyCreated, envelope
from lyo_gamification import boards, engine, moderation, upkeep
from lyo_gamification.models import Balance, Entry, Progress

from kernel import transaction


async def balance(user_id: str) -> int:
    row = await Balance.get_or_none(user_id=user_id)
    return row.points if row else 0


async def replies(user_id: str) -> int:
    row = await Progress.get_or_none(user_id=user_id, achievement="conversationalist")
    return row.count if row else 0


async def deliver(event: Any, at: datetime | None = None) -> Any:
    wrapped = envelope(event, at)
    async with transaction():
        if isinstance(event, ContentModerated):
            await moderation.moderated(wrapped)
        else:
            await engine.handle(wrapped)
    return wrapped


def moderated(reply: uuid.UUID, discussion: uuid.UUID, action: str) -> ContentModerated:
    return ContentModerated(
        target_type="reply",
        target_id=reply,
        discussion_id=discussion,
        author_id=ADA,
        action=action,
        moderator_id=BOB,
    )


async def test_hiding_withdraws_and_unhiding_restores_once(lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    discussion, reply = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await deliver(
        ReplyCreated(
            reply_id=reply,
            discussion_id=discussion,
            author_id=ADA,
        )
    )
    await deliver(
        ReactionAdded(
            target_type="reply",
            target_id=reply,
            discussion_id=discussion,
            user_id=BOB,
            target_author_id=ADA,
            kind="like",
        )
    )
    assert await balance(ADA) == 3 and await replies(ADA) == 1
    own = ReactionAdded(
        target_type="reply",
        target_id=reply,
        discussion_id=discussion,
        user_id=ADA,
        target_author_id=ADA,
        kind="like",
    )
    await deliver(own)  # reacting to one's own reply earns nothing
    assert await balance(ADA) == 3
    hide = await deliver(moderated(reply, discussion, "hidden"), now + timedelta(seconds=1))
    async with transaction():
        await moderation.moderated(hide)  # redelivered: nothing more
    assert await balance(ADA) == 0 and await replies(ADA) == 0
    withdrawn = await Entry.filter(user_id=ADA, points__lt=0).values_list("points", flat=True)
    assert sorted(withdrawn) == [-2, -1]  # compensating entries; the awards stay
    assert await Entry.filter(user_id=ADA, reverses=None).count() == 2
    _, me, _ = await boards.read("all", "global", ADA, 10, 0)
    assert me is None or me.points == 0
    unhide = await deliver(moderated(reply, discussion, "unhidden"), now + timedelta(seconds=2))
    async with transaction():
        await moderation.moderated(unhide)
    assert await balance(ADA) == 3 and await replies(ADA) == 1
    # an older hide delivered late changes nothing
    await deliver(moderated(reply, discussion, "hidden"), now + timedelta(milliseconds=500))
    assert await balance(ADA) == 3
    await deliver(moderated(reply, discussion, "deleted"), now + timedelta(seconds=3))
    await deliver(moderated(reply, discussion, "unhidden"), now + timedelta(seconds=4))
    assert await balance(ADA) == 0  # deleted is final
    assert await Entry.filter(user_id=ADA).count() == 2 + 2 + 2 + 2
    await Progress.all().update(count=99)  # drifted: the rebuild counts standing awards
    await upkeep.rebuild_progress()
    assert await replies(ADA) == 0 and await upkeep.rebuild_balances() == 1
    assert await balance(ADA) == 0
    _, me, _ = await boards.read("all", "global", ADA, 10, 0)
    assert me is None or me.points == 0


async def test_an_award_for_a_post_already_hidden_is_withdrawn(lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    discussion, reply = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await deliver(moderated(reply, discussion, "hidden"), now)
    await deliver(
        ReplyCreated(  # delivered late, after the hide
            reply_id=reply,
            discussion_id=discussion,
            author_id=ADA,
        )
    )
    assert await balance(ADA) == 0 and await replies(ADA) == 0
    await deliver(moderated(reply, discussion, "unhidden"), now + timedelta(seconds=1))
    assert await balance(ADA) == 2 and await replies(ADA) == 1
    await Progress.all().update(count=0)
    await upkeep.rebuild_progress()
    assert await replies(ADA) == 1  # restored: it stands again
