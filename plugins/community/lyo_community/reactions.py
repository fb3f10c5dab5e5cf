"""Reactions: one per (user, target, kind), idempotent both ways.

The row and the target's ``reaction_count`` change in one transaction; the unique
constraint decides which of two concurrent identical reactions counts (the loser's
insert fails inside a savepoint and changes nothing), and the count moves by a single
``UPDATE ... SET reaction_count = reaction_count + 1``, so counts stay exact under any
concurrency."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count

from kernel import Identity, ValidationFailed, publish, transaction

from . import live, readcache
from .access import take
from .events import ReactionAdded, ReactionRemoved
from .models import Discussion, Reaction, Reply, TargetType
from .schemas import ReactionCounts
from .settings import plugin


def _check_kind(kind: str) -> None:
    if kind not in plugin.settings.reaction_kinds:
        raise ValidationFailed(
            [
                {
                    "pointer": "/path/kind",
                    "detail": f"One of {', '.join(plugin.settings.reaction_kinds)}.",
                }
            ]
        )


def _model(target_type: TargetType) -> type[Discussion] | type[Reply]:
    return Discussion if target_type == TargetType.DISCUSSION else Reply


async def react(
    target_type: TargetType,
    target: Discussion | Reply,
    discussion: Discussion,
    kind: str,
    identity: Identity,
    add: bool,
) -> ReactionCounts:
    _check_kind(kind)
    assert identity.id is not None
    await take("react", identity)
    where = {
        "user_id": identity.id,
        "target_type": target_type,
        "target_id": target.id,
        "kind": kind,
    }
    async with transaction():
        if add:
            try:
                async with transaction():  # a savepoint: a duplicate changes nothing
                    await Reaction.create(**where)
                changed = True
            except IntegrityError:
                changed = False
        else:
            changed = await Reaction.filter(**where).delete() > 0
        if changed:
            await readcache.changed([discussion.id])
            delta = 1 if add else -1
            await (
                _model(target_type)
                .filter(id=target.id)
                .update(reaction_count=F("reaction_count") + delta)
            )
            event_type = ReactionAdded if add else ReactionRemoved
            extra: dict[str, Any] = {}
            if add:
                notice = {
                    "discussion_id": str(discussion.id),
                    "target_type": target_type.value,
                    "target_id": str(target.id),
                    "reaction": kind,
                }
                told = await live.notify(identity.id, [target.author_id], "reaction", notice)
                extra = {
                    "course_id": discussion.course_id,
                    "lesson_id": discussion.lesson_id,
                    "reply_id": None if target_type == TargetType.DISCUSSION else target.id,
                    "reaction": kind,
                    "recipient_ids": told,
                }
            await publish(
                event_type(
                    target_type=target_type.value,
                    target_id=target.id,
                    discussion_id=discussion.id,
                    user_id=identity.id,
                    target_author_id=target.author_id,
                    kind=kind,
                    **extra,
                )
            )
        on_discussion = target_type == TargetType.DISCUSSION
        counts = await counts_for(
            [target.id] if on_discussion else [], [] if on_discussion else [target.id]
        )
        result = ReactionCounts(
            counts=counts.get(target.id, {}), mine=await mine(target_type, target.id, identity)
        )
        if changed:
            await live.broadcast(
                discussion.id,
                "reaction_added" if add else "reaction_removed",
                {
                    "target_type": target_type.value,
                    "id": str(target.id),
                    "kind": kind,
                    "counts": result.counts,
                },
            )
    return result


async def counts_for(
    discussion_ids: list[UUID], reply_ids: list[UUID]
) -> dict[UUID, dict[str, int]]:
    """Per-kind counts of many targets in one grouped, indexed query."""
    if not discussion_ids and not reply_ids:
        return {}
    targets = Q(target_type=TargetType.REPLY, target_id__in=reply_ids) if reply_ids else Q()
    if discussion_ids:
        on_discussions = Q(target_type=TargetType.DISCUSSION, target_id__in=discussion_ids)
        targets = (targets | on_discussions) if reply_ids else on_discussions
    rows = (
        await Reaction.filter(targets)
        .annotate(n=Count("id"))
        .group_by("target_id", "kind")
        .values("target_id", "kind", "n")
    )
    out: dict[UUID, dict[str, int]] = {}
    for row in rows:
        target = (
            row["target_id"] if isinstance(row["target_id"], UUID) else UUID(str(row["target_id"]))
        )
        out.setdefault(target, {})[row["kind"]] = row["n"]
    return out


async def mine(target_type: TargetType, target_id: UUID, identity: Identity) -> list[str]:
    if identity.id is None:
        return []
    kinds = await Reaction.filter(
        user_id=identity.id, target_type=target_type, target_id=target_id
    ).values_list("kind", flat=True)
    return sorted(kinds)
