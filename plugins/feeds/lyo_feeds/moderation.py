"""Moderated community content leaves the feeds and, when unhidden, comes back
(``community.content_moderated.v1``): a hidden discussion takes its own activity, the
activity of its replies and its embedding (search, similar) with it; a hidden reply
takes its activity, or only its own place in an aggregate ("replied 3 times" becomes
2). What was taken is kept (:class:`.models.Withdrawn`) until the content is unhidden;
deleted and rejected content is gone for good."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from kernel import after_commit

from .caching import renew
from .models import Activity, Embedding, Withdrawn
from .vectors import changed

#: Actions after which content is gone from feeds for good, or until ``unhidden``.
GONE = frozenset({"deleted", "rejected"})
HIDDEN = frozenset({"hidden"})
SHOWN = frozenset({"unhidden"})
#: The kind a hidden discussion's embedding is kept under (no index loads it).
HIDDEN_KIND = "-discussion"

_FIELDS = (
    "id",
    "actor_id",
    "verb",
    "object_type",
    "object_id",
    "target_type",
    "target_id",
    "course_id",
    "audience",
    "count",
    "objects",
    "data",
    "occurred_at",
    "created_at",
)


def _snapshot(activity: Activity, **changes: Any) -> dict[str, Any]:
    fields = {name: getattr(activity, name) for name in _FIELDS} | changes
    return {
        k: str(v) if isinstance(v, UUID) else v.isoformat() if isinstance(v, datetime) else v
        for k, v in fields.items()
    }


async def moderated(action: str, target_type: str, target_id: str, discussion_id: str) -> None:
    """Apply ``action`` on content ``target_id`` (a ``discussion`` or a ``reply`` of
    ``discussion_id``) to the feeds; other actions (locked, pinned, ...) change none."""
    if action in SHOWN:
        await _restore(target_id, target_type)
    elif action in HIDDEN | GONE:
        await _withdraw(target_id, target_type, discussion_id, keep=action in HIDDEN)
    else:
        return
    await after_commit(lambda: renew("all"))


async def _withdraw(content: str, target_type: str, discussion: str, keep: bool) -> None:
    kept: list[dict[str, Any]] = []
    if target_type == "discussion":
        whole = await Activity.filter(object_type="discussion", object_id=content)
        whole += await Activity.filter(target_type="discussion", target_id=content)
    else:  # a reply: its own activity, or its place in an aggregate of its discussion
        whole = []
        groups = Activity.filter(verb="replied", target_type="discussion", target_id=discussion)
        for group in await groups:
            if content not in group.objects and group.object_id != content:
                continue
            others = [o for o in group.objects if o != content]
            if not others or group.count <= 1:
                whole.append(group)
                continue
            kept.append(_snapshot(group, objects=[content], count=1) | {"into": str(group.id)})
            group.objects, group.count = others, group.count - 1
            await group.save(update_fields=["objects", "count", "updated_at"])
    kept += [_snapshot(a) for a in whole]
    if whole:
        await Activity.filter(id__in=[a.id for a in whole]).delete()
    if keep:
        await Withdrawn.bulk_create([Withdrawn(content_id=content, activity=k) for k in kept])
    else:
        await Withdrawn.filter(content_id=content).delete()
    if target_type == "discussion":
        vectors = Embedding.filter(object_id=content, kind="discussion")
        if keep:
            moved = await vectors.update(kind=HIDDEN_KIND)
        else:
            moved = await Embedding.filter(
                object_id=content, kind__in=("discussion", HIDDEN_KIND)
            ).delete()
        if moved:
            await changed("discussion")  # no longer found by search or similar


async def _restore(content: str, target_type: str) -> None:
    for row in await Withdrawn.filter(content_id=content).order_by("id"):
        fields = dict(row.activity)
        into = fields.pop("into", None)
        group = await Activity.get_or_none(id=into) if into else None
        if group is not None:
            group.objects = [*fields["objects"], *group.objects]
            group.count += 1
            await group.save(update_fields=["objects", "count", "updated_at"])
        elif not await Activity.exists(id=fields["id"]):
            for name in ("occurred_at", "created_at"):  # its place in the feeds again
                fields[name] = datetime.fromisoformat(fields[name])
            await Activity.create(**fields | {"id": UUID(fields["id"])})
    await Withdrawn.filter(content_id=content).delete()
    if target_type == "discussion" and await Embedding.filter(
        object_id=content, kind=HIDDEN_KIND
    ).update(kind="discussion"):
        await changed("discussion")
