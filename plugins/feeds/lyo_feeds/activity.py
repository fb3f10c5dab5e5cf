"""Recording activities (idempotent per source event, aggregated within a window),
who may see them, how they are shown, and the live push to followers.

Fan-out on read: an activity is written once, and a feed is one indexed query over the
activities of what the reader follows, filtered by each actor's current visibility.
A course with 10,000 learners costs one row per activity instead of 10,000 timeline
rows, a privacy change or an erasure takes effect at once on every feed (no copies to
chase), and only the live push goes to followers (bounded by ``max_push_fanout``).
``bench/feeds.py`` measures the read cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import Q, Subquery

from kernel import Envelope, after_commit, transaction

from .caching import each, renew, renew_all
from .models import Activity, Course, Follow, Privacy, Reaction, Source
from .settings import plugin

#: Verbs whose repeats (same actor, same target) within the window become one activity.
AGGREGATED = frozenset({"completed_lesson", "replied", "unlocked_achievement"})
#: How many object ids an aggregated activity keeps.
MAX_OBJECTS = 20
#: Verbs by which a user takes a course (what recommendations start from).
TAKEN = ("enrolled", "completed_course", "completed_lesson", "published_course")


@dataclass(frozen=True)
class Draft:
    actor_id: str
    verb: str
    object_type: str
    object_id: str
    target_type: str | None = None
    target_id: str | None = None
    course_id: str | None = None
    audience: str = "public"  # public | actor
    data: dict[str, str] | None = None


async def record(envelope: Envelope, draft: Draft) -> Activity | None:
    """Record ``draft`` from ``envelope``: ``None`` when this event was recorded already."""
    event_id = UUID(str(envelope.id))
    async with transaction() as connection:
        if draft.verb in AGGREGATED and connection.capabilities.dialect == "postgres":
            # concurrent deliveries of one group wait for each other (SQLite writes are
            # serial anyway): without it each would find no group and start its own
            key = f"{draft.actor_id}|{draft.verb}|{draft.target_id}"
            await connection.execute_query(
                "SELECT pg_advisory_xact_lock(hashtext('feeds'), hashtext($1))", [key]
            )
        if await Source.exists(event_id=event_id):
            return None
        group = None
        if draft.verb in AGGREGATED:
            since = datetime.now(UTC) - timedelta(seconds=plugin.settings.aggregation_window)
            group = (
                await Activity.filter(
                    actor_id=draft.actor_id,
                    verb=draft.verb,
                    target_type=draft.target_type,
                    target_id=draft.target_id,
                    audience=draft.audience,
                    created_at__gte=since,
                )
                .select_for_update()
                .order_by("-created_at")
                .first()
            )
        if group is not None:
            if draft.object_id not in group.objects:
                group.count += 1
                group.objects = [draft.object_id, *group.objects][:MAX_OBJECTS]
            group.occurred_at = max(group.occurred_at, envelope.occurred_at)
            await group.save(update_fields=["count", "objects", "occurred_at", "updated_at"])
            activity = group
        else:
            activity = await Activity.create(
                actor_id=draft.actor_id,
                verb=draft.verb,
                object_type=draft.object_type,
                object_id=draft.object_id,
                target_type=draft.target_type,
                target_id=draft.target_id,
                course_id=draft.course_id,
                audience=draft.audience,
                objects=[draft.object_id],
                data=draft.data or {},
                occurred_at=envelope.occurred_at,
            )
        await Source.create(event_id=event_id, activity=activity)
        # after the commit (of the delivery's transaction, around this one): a reader
        # renewed before it could cache a page without this activity under the new token
        await after_commit(lambda: published(activity))
    return activity


async def published(activity: Activity) -> None:
    """Push ``activity`` to who may see it, and renew the tokens of every feed it is
    on (so the next read of each misses), and of the actor's recommendations when it is
    about a course they took."""
    readers = await readers_of(activity)
    await push(activity, readers)
    tokens = [f"viewer:{r}" for r in readers] + [f"actor:{activity.actor_id}"]
    if activity.course_id:
        tokens.append(f"course:{activity.course_id}")
        if activity.verb in TAKEN:
            tokens.append(f"taste:{activity.actor_id}")
    await renew_all(tokens)


# -- who sees what ---------------------------------------------------------------------


def _followed(viewer: str, kind: str) -> Subquery:
    return Subquery(Follow.filter(user_id=viewer, kind=kind).values("target_id"))


def _with(visibility: str) -> Q:
    """Actors whose effective visibility is ``visibility`` (no row: the default)."""
    if plugin.settings.default_visibility == visibility:
        others = Privacy.exclude(visibility=visibility).values("user_id")
        return ~Q(actor_id__in=Subquery(others))
    return Q(actor_id__in=Subquery(Privacy.filter(visibility=visibility).values("user_id")))


def visible_to(viewer: str | None) -> Q:
    """Activities ``viewer`` may see (anonymous: ``None``): their own, public actors'
    public ones, and those of followers-only actors they follow."""
    public = Q(audience="public")
    if viewer is None:
        return public & _with("public")
    return Q(actor_id=viewer) | (
        public
        & (_with("public") | (_with("followers") & Q(actor_id__in=_followed(viewer, "user"))))
    )


def home(viewer: str) -> Any:
    """``GET /me``: the activity of the users and courses ``viewer`` follows, and theirs."""
    following = (
        Q(actor_id__in=_followed(viewer, "user"))
        | Q(course_id__in=_followed(viewer, "course"))
        | Q(actor_id=viewer)
    )
    return Activity.filter(following & visible_to(viewer))


async def visibility_of(user_id: str) -> str:
    row = await Privacy.get_or_none(user_id=user_id)
    return row.visibility if row else plugin.settings.default_visibility


# -- how it is shown -------------------------------------------------------------------

_PHRASES = {
    "enrolled": "enrolled in {title}",
    "completed_course": "completed {title}",
    "published_course": "published {title}",
    "generated_course": "generated a draft course: {title}",
    "started_discussion": "started a discussion: {title}",
    "unlocked_achievement": "unlocked {title}",
}


def summary(activity: Activity, course_title: str | None) -> str:
    """A sentence without its subject (clients put the actor's name first)."""
    title = activity.data.get("title") or course_title or activity.object_id
    n = activity.count
    if activity.verb == "completed_lesson":
        where = course_title or activity.target_id
        return f"completed {n} lessons of {where}" if n > 1 else f"completed a lesson of {where}"
    if activity.verb == "replied":
        where = activity.data.get("target_title") or activity.target_id
        return f"replied {n} times to {where}" if n > 1 else f"replied to {where}"
    if activity.verb == "unlocked_achievement" and n > 1:
        return f"unlocked {n} achievements"
    return _PHRASES.get(activity.verb, activity.verb + " {title}").format(title=title)


def public(activity: Activity, titles: dict[str, str] | None = None) -> dict[str, Any]:
    course_title = (titles or {}).get(activity.course_id or "")
    return {
        "id": activity.id,
        "actor_id": activity.actor_id,
        "verb": activity.verb,
        "object": {"type": activity.object_type, "id": activity.object_id},
        "target": (
            {"type": activity.target_type, "id": activity.target_id}
            if activity.target_type
            else None
        ),
        "course_id": activity.course_id,
        "audience": activity.audience,
        "count": activity.count,
        "objects": activity.objects,
        "data": activity.data,
        "summary": summary(activity, course_title),
        "occurred_at": activity.occurred_at,
        "created_at": activity.created_at,
        "updated_at": activity.updated_at,
    }


async def titles_of(activities: list[Activity]) -> dict[str, str]:
    ids = {a.course_id for a in activities if a.course_id}
    if not ids:
        return {}
    return dict(await Course.filter(id__in=ids).values_list("id", "title"))  # type: ignore[arg-type]


# -- live push -------------------------------------------------------------------------


async def readers_of(activity: Activity) -> set[str]:
    """Whose ``GET /me`` shows ``activity``: its actor and, as the actor's visibility
    allows, their followers and (public actors only) the course's followers."""
    readers = {activity.actor_id}
    if activity.audience != "public":
        return readers
    visibility = await visibility_of(activity.actor_id)
    if visibility == "private":
        return readers
    of_actor = Follow.filter(kind="user", target_id=activity.actor_id)
    readers |= set(await of_actor.values_list("user_id", flat=True))  # type: ignore[arg-type]
    if activity.course_id and visibility == "public":
        of_course = Follow.filter(kind="course", target_id=activity.course_id)
        readers |= set(await of_course.values_list("user_id", flat=True))  # type: ignore[arg-type]
    return readers


async def push(activity: Activity, readers: set[str]) -> None:
    """Tell ``readers`` (the actor first) about ``activity`` on ``user:{id}``, at most
    ``max_push_fanout`` of them besides the actor."""
    data = public(activity, await titles_of([activity]))
    message = {"activity": _jsonable(data)}
    others = sorted(readers - {activity.actor_id})[: plugin.settings.max_push_fanout]

    async def tell(user_id: str) -> None:
        await plugin.notify_user(user_id, "activity", message)  # kind feeds.activity

    await each([activity.actor_id, *others], tell)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


# -- forgetting ------------------------------------------------------------------------


async def forget_activity(user_id: str) -> int:
    """A deactivated user's activity disappears from every feed."""
    deleted = await Activity.filter(actor_id=user_id).delete()
    await after_commit(lambda: renew("all"))
    return deleted


async def forget_user(user_id: str) -> None:
    """Erase: the user's activity, follows (theirs and of them), privacy, reactions,
    authorship."""
    await forget_activity(user_id)
    await Follow.filter(user_id=user_id).delete()
    await Follow.filter(kind="user", target_id=user_id).delete()
    await Privacy.filter(user_id=user_id).delete()
    await Reaction.filter(user_id=user_id).delete()
    await Course.filter(author_id=user_id).update(author_id="")
