"""Events that become activities, subscribed by type string: learning, ai, community and
gamification are each optional and never imported. Handlers are durable (at least once,
retried, dead-lettered); recording is idempotent per source event (``feeds_source``).

Payload fields read (others are ignored; a missing required one fails the delivery,
which then lands in the dead letters instead of inventing an actor):

- ``learning.enrolled.v1``: user_id, course_id
- ``learning.lesson_completed.v1``: user_id, lesson_id, course_id
- ``learning.course_completed.v1``: user_id, course_id
- ``learning.course_published.v1``: author_id, course_id, title (the only event that
  makes a course public activity)
- ``learning.course_updated.v1``: course_id, status, changed; a published course whose
  title, description or lessons changed is embedded again (discovery and search follow)
- ``learning.course_unpublished.v1``, ``learning.course_deleted.v1``: course_id; the
  course is no longer public: its activity and its embedding leave the feeds, discovery
  and search (a new publication brings it back as new activity)
- ``ai.course_generated.v1``: owner_id, course_id, topic; a private draft: only its
  owner sees it, until ``learning.course_published.v1``
- ``community.discussion_created.v1``: author_id, discussion_id, title, course_id?;
  ``status`` (if sent) other than ``published``/``visible`` (held, pending, hidden):
  no activity
- ``community.reply_created.v1``: author_id, reply_id, discussion_id, course_id?,
  ``status`` as above
- ``community.content_moderated.v1``: target_type, target_id, discussion_id, action;
  hidden content's activities (a discussion's with its replies; a reply's place in an
  aggregate) leave the feeds until ``unhidden``, deleted and rejected content's for
  good (:mod:`.moderation`)
- ``community.reaction_added.v1``: user_id, target_id, kind, course_id? (without a
  course: ignored); ``community.reaction_removed.v1``: user_id, target_id, kind. Not
  activity: a taste for the course, for recommendations
- ``gamification.achievement_unlocked.v1``: user_id, achievement, name
- ``auth.user_deactivated.v1``, ``auth.user_erased.v1``: user_id; their activity
  disappears (erased: their follows and settings too)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel import Envelope, Handler, KernelError, after_commit, on

from .activity import Draft, forget_activity, forget_user, record
from .caching import renew
from .embedder import can_embed_here
from .models import Activity, Course, Embedding, Reaction
from .moderation import moderated
from .settings import plugin
from .tasks import course_text, wait_for_embedding
from .vectors import changed

#: Community statuses that are not (yet) visible to others.
NOT_VISIBLE = frozenset({"held", "pending", "hidden", "rejected", "deleted", "draft"})


def _s(payload: dict[str, Any], field: str) -> str:
    return str(payload[field])


def _opt(payload: dict[str, Any], field: str) -> str | None:
    value = payload.get(field)
    return str(value) if value else None


def _enrolled(p: dict[str, Any]) -> Draft:
    course = _s(p, "course_id")
    return Draft(_s(p, "user_id"), "enrolled", "course", course, course_id=course)


def _lesson(p: dict[str, Any]) -> Draft:
    course = _s(p, "course_id")
    return Draft(
        _s(p, "user_id"), "completed_lesson", "lesson", _s(p, "lesson_id"), "course", course, course
    )


def _course_completed(p: dict[str, Any]) -> Draft:
    course = _s(p, "course_id")
    return Draft(_s(p, "user_id"), "completed_course", "course", course, course_id=course)


def _generated(p: dict[str, Any]) -> Draft:
    course = _s(p, "course_id")
    title = str(p.get("topic") or "")
    return Draft(
        _s(p, "owner_id"),
        "generated_course",
        "course",
        course,
        course_id=course,
        audience="actor",
        data={"title": title} if title else None,
    )


def _discussion(p: dict[str, Any]) -> Draft | None:
    if str(p.get("status") or "published") in NOT_VISIBLE:
        return None
    return Draft(
        _s(p, "author_id"),
        "started_discussion",
        "discussion",
        _s(p, "discussion_id"),
        "course" if p.get("course_id") else None,
        _opt(p, "course_id"),
        _opt(p, "course_id"),
        data={"title": str(p.get("title") or "")},
    )


def _reply(p: dict[str, Any]) -> Draft | None:
    if str(p.get("status") or "published") in NOT_VISIBLE:
        return None
    title = p.get("discussion_title")
    return Draft(
        _s(p, "author_id"),
        "replied",
        "reply",
        _s(p, "reply_id"),
        "discussion",
        _s(p, "discussion_id"),
        _opt(p, "course_id"),
        data={"target_title": str(title)} if title else None,
    )


def _achievement(p: dict[str, Any]) -> Draft:
    name = str(p.get("name") or p.get("achievement") or "")
    return Draft(
        _s(p, "user_id"),
        "unlocked_achievement",
        "achievement",
        _s(p, "achievement"),
        data={"title": name},
    )


#: type -> how its payload becomes an activity (None: not one)
BUILDERS: dict[str, Callable[[dict[str, Any]], Draft | None]] = {
    "learning.enrolled.v1": _enrolled,
    "learning.lesson_completed.v1": _lesson,
    "learning.course_completed.v1": _course_completed,
    "ai.course_generated.v1": _generated,
    "community.discussion_created.v1": _discussion,
    "community.reply_created.v1": _reply,
    "gamification.achievement_unlocked.v1": _achievement,
}


def _handler(event_type: str) -> Handler:
    build = BUILDERS[event_type]
    name = event_type.split(".")[1]

    async def handle(envelope: Envelope) -> None:
        draft = build(envelope.payload)
        if draft is not None:
            await record(envelope, draft)
            if draft.verb == "started_discussion" and can_embed_here():
                title = str(envelope.payload.get("title") or "")
                body = str(envelope.payload.get("body") or envelope.payload.get("excerpt") or "")
                text = ". ".join(p for p in (title, body) if p)
                await wait_for_embedding("discussion", draft.object_id, title, text)

    handle.__name__ = handle.__qualname__ = f"on_{name}"
    prefix = event_type.split(".")[0]
    return on(event_type, id=f"feeds:{prefix}_{name}")(handle)


@on("learning.course_published.v1", id="feeds:learning_course_published")
async def course_published(envelope: Envelope) -> None:
    """A published course: its title for summaries, its publication as activity, and
    the generated draft's private activity replaced by this public one."""
    p = envelope.payload
    course, author, title = _s(p, "course_id"), _s(p, "author_id"), str(p.get("title") or "")
    await Course.update_or_create(defaults={"title": title, "author_id": author}, id=course)
    await Activity.filter(verb="generated_course", object_id=course, audience="actor").delete()
    draft = Draft(author, "published_course", "course", course, course_id=course)
    await record(envelope, Draft(**{**draft.__dict__, "data": {"title": title}}))
    if can_embed_here():
        await wait_for_embedding("course", course, title, await _course_text(course, title))


async def _learning_course(course_id: str) -> Any:
    """The course through the learning plugin's public api, or ``None`` (not installed,
    gone since, or not a learning course)."""
    loaded = plugin.kernel.plugins.get("learning")
    if loaded is None or loaded.state != "active":
        return None
    try:
        from uuid import UUID

        from lyo_learning import api as learning  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return await learning.get_course(UUID(course_id))
    except (KernelError, ValueError):
        return None


async def _course_text(course_id: str, title: str) -> str:
    """Title, description and lesson titles, from the learning plugin when installed
    (its public api), else the title the event carries."""
    detail = await _learning_course(course_id)
    if detail is None:
        return course_text(title)
    return course_text(
        title,
        str(getattr(detail, "description", "") or ""),
        [str(lesson.title) for lesson in getattr(detail, "lessons", [])],
    )


#: What a course's embedding is made of (``learning.course_updated.v1``'s ``changed``).
EMBEDDED_FIELDS = frozenset({"title", "description", "lessons"})


@on("learning.course_updated.v1", id="feeds:learning_course_updated")
async def course_updated(envelope: Envelope) -> None:
    """A published course's text changed: its title for summaries, its embedding anew."""
    p = envelope.payload
    if p.get("status") != "published" or not EMBEDDED_FIELDS & set(p.get("changed") or ()):
        return
    course = _s(p, "course_id")
    known = await Course.get_or_none(id=course)
    if known is None:  # published before this plugin was installed: nothing to follow
        return
    title = await _course_title(course, known.title)
    if title != known.title:
        known.title = title
        await known.save(update_fields=["title"])
        await after_commit(lambda: renew("all"))  # summaries carry the title
    if can_embed_here():
        await wait_for_embedding("course", course, title, await _course_text(course, title))


@on("learning.course_unpublished.v1", id="feeds:learning_course_unpublished")
async def course_unpublished(envelope: Envelope) -> None:
    await course_withdrawn(_s(envelope.payload, "course_id"))


@on("learning.course_deleted.v1", id="feeds:learning_course_deleted")
async def course_deleted(envelope: Envelope) -> None:
    await course_withdrawn(_s(envelope.payload, "course_id"))


async def course_withdrawn(course: str) -> None:
    """A course left the catalog: nothing about it stays public activity, and it is no
    longer recommended, similar or found."""
    await Activity.filter(course_id=course).delete()
    await Activity.filter(object_type="course", object_id=course).delete()
    if await Embedding.filter(kind="course", object_id=course).delete():
        await changed("course")
    await after_commit(lambda: renew("all"))


async def _course_title(course_id: str, known: str) -> str:
    detail = await _learning_course(course_id)
    return str(getattr(detail, "title", "") or known)


@on("community.content_moderated.v1", id="feeds:community_content_moderated")
async def content_moderated(envelope: Envelope) -> None:
    p = envelope.payload
    await moderated(
        str(p.get("action")), _s(p, "target_type"), _s(p, "target_id"), _s(p, "discussion_id")
    )


@on("community.reaction_added.v1", id="feeds:community_reaction_added")
async def reaction_added(envelope: Envelope) -> None:
    """A reaction in a course's discussions: a taste for that course (recommendations)."""
    p = envelope.payload
    course, user = _opt(p, "course_id"), _s(p, "user_id")
    if course is None:
        return
    reaction = Reaction(
        user_id=user, target_id=_s(p, "target_id"), kind=_s(p, "kind"), course_id=course
    )
    await Reaction.bulk_create([reaction], ignore_conflicts=True)  # again: no change
    await after_commit(lambda: renew(f"taste:{user}"))


@on("community.reaction_removed.v1", id="feeds:community_reaction_removed")
async def reaction_removed(envelope: Envelope) -> None:
    p = envelope.payload
    user = _s(p, "user_id")
    where = {"user_id": user, "target_id": _s(p, "target_id"), "kind": _s(p, "kind")}
    if await Reaction.filter(**where).delete():
        await after_commit(lambda: renew(f"taste:{user}"))


@on("auth.user_deactivated.v1", id="feeds:auth_user_deactivated")
async def user_deactivated(envelope: Envelope) -> None:
    await forget_activity(_s(envelope.payload, "user_id"))


@on("auth.user_erased.v1", id="feeds:auth_user_erased")
async def user_erased(envelope: Envelope) -> None:
    await forget_user(_s(envelope.payload, "user_id"))


HANDLERS: tuple[Handler, ...] = (
    *(_handler(t) for t in BUILDERS),
    course_published,
    course_updated,
    course_unpublished,
    course_deleted,
    content_moderated,
    reaction_added,
    reaction_removed,
    user_deactivated,
    user_erased,
)
