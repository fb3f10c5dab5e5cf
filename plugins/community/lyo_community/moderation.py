"""Reports, moderation actions (an append-only audit log), the moderation queue and
categories. Everything here but filing a report needs ``community:moderate``."""

from __future__ import annotations

from uuid import UUID

from tortoise.exceptions import IntegrityError

from kernel import (
    Conflict,
    CursorPage,
    Identity,
    NotFound,
    ValidationFailed,
    paginate_cursor,
    publish,
    transaction,
)

from . import live, posts, readcache
from .access import take
from .events import ContentModerated, ContentReported
from .models import (
    Category,
    Discussion,
    ModerationAction,
    PostState,
    Reply,
    Report,
    ReportStatus,
    TargetType,
    now,
)
from .schemas import (
    CategoryCreate,
    CategoryUpdate,
    ModerationIn,
    QueueItem,
    QueueQuery,
    ReportDecision,
    ReportOut,
)

Target = Discussion | Reply
#: Actions announced as ``community.content_moderated.v1``, by their past tense.
DONE = {
    "hide": "hidden",
    "unhide": "unhidden",
    "reject": "rejected",
    "lock": "locked",
    "unlock": "unlocked",
    "pin": "pinned",
    "unpin": "unpinned",
    "move": "moved",
}


def report_out(r: Report) -> ReportOut:
    return ReportOut(
        id=r.id,
        reporter_id=r.reporter_id,
        target_type=r.target_type.value,
        target_id=r.target_id,
        target_author_id=r.target_author_id,
        reason=r.reason,
        status=r.status.value,
        created_at=r.created_at,
        closed_at=r.closed_at,
        closed_by=r.closed_by,
    )


async def report(
    target_type: TargetType, target: Target, reason: str, identity: Identity
) -> Report:
    """One open report per reporter and target (a second is a 409)."""
    assert identity.id is not None
    await take("report", identity)
    key = f"{identity.id}:{target_type.value}:{target.id}"
    try:
        async with transaction():
            created = await Report.create(
                reporter_id=identity.id,
                target_type=target_type,
                target_id=target.id,
                target_author_id=target.author_id,
                reason=reason,
                open_key=key,
            )
            await publish(
                ContentReported(
                    report_id=created.id,
                    reporter_id=identity.id,
                    target_type=target_type.value,
                    target_id=target.id,
                    target_author_id=target.author_id,
                    reason=reason,
                )
            )
    except IntegrityError:
        raise Conflict("You already reported this; a moderator will look at it.") from None
    return created


async def _log(
    identity: Identity, target_type: str, target_id: UUID, action: str, reason: str
) -> None:
    assert identity.id is not None
    await ModerationAction.create(
        moderator_id=identity.id,
        target_type=target_type,
        target_id=target_id,
        action=action,
        reason=reason,
    )


async def moderate(
    target_type: TargetType, target: Target, data: ModerationIn, identity: Identity
) -> None:
    """Apply a moderator's action, log it, and tell other plugins about visibility."""
    action = data.action
    discussion_id = target.id if isinstance(target, Discussion) else target.discussion_id
    if isinstance(target, Reply) and action in {"lock", "unlock", "pin", "unpin", "move"}:
        raise ValidationFailed.field("action", f"{action!r} applies to discussions only.")
    async with transaction():
        await readcache.changed([discussion_id])
        was_public = target.public
        if action == "delete":
            if isinstance(target, Discussion):
                await posts.delete_discussion(target, identity, data.reason)
            else:
                await posts.delete_reply(target, identity, data.reason)
            await _log(identity, target_type.value, target.id, action, data.reason)
            return
        if action in {"hide", "unhide"}:
            target.hidden = action == "hide"
        elif action in {"approve", "reject"}:
            if target.state != PostState.HELD:
                raise Conflict("This post is not waiting for approval.")
            if action == "approve":
                target.state = PostState.PUBLISHED
            else:
                target.hidden = True  # rejected: stays held and hidden, never announced
        elif isinstance(target, Discussion):
            if action in {"lock", "unlock"}:
                target.locked = action == "lock"
            elif action in {"pin", "unpin"}:
                target.pinned = action == "pin"
            elif action == "move":
                if data.category_id is not None and not await Category.exists(id=data.category_id):
                    raise ValidationFailed.field("category_id", "No such category.")
                target.category_id = data.category_id
        await target.save()
        await _log(identity, target_type.value, target.id, action, data.reason)
        if action == "approve":
            await _announce(target)
        elif isinstance(target, Reply) and was_public != target.public:
            await posts.count_reply(target.discussion_id, 1 if target.public else -1)
        if action in DONE:
            await publish(
                ContentModerated(
                    target_type=target_type.value,
                    target_id=target.id,
                    discussion_id=discussion_id,
                    author_id=target.author_id,
                    action=DONE[action],
                    moderator_id=identity.id,
                    reason=data.reason,
                )
            )
            await live.broadcast(
                discussion_id,
                "moderated",
                {"target_type": target_type.value, "id": str(target.id), "action": action},
            )


async def _announce(target: Target) -> None:
    if isinstance(target, Discussion):
        await posts.announce_discussion(target)
        return
    discussion = await Discussion.get(id=target.discussion_id)
    parent = await Reply.get_or_none(id=target.parent_id) if target.parent_id else None
    await posts.announce_reply(target, discussion, parent)


async def decide(report_id: UUID, data: ReportDecision, identity: Identity) -> Report:
    report_ = await Report.get_or_none(id=report_id)
    if report_ is None:
        raise NotFound("No such report.")
    if report_.status != ReportStatus.OPEN:
        raise Conflict("This report was already decided.")
    async with transaction():
        report_.status = ReportStatus(data.status)
        report_.open_key, report_.closed_at, report_.closed_by = None, now(), identity.id
        await report_.save()
        await _log(identity, "report", report_.id, data.status, data.reason)
        if data.status == "resolved" and data.hide:
            model = Discussion if report_.target_type == TargetType.DISCUSSION else Reply
            target = await model.get_or_none(id=report_.target_id)
            if target is not None and not target.hidden:
                await moderate(
                    report_.target_type,
                    target,
                    ModerationIn(action="hide", reason=data.reason),
                    identity,
                )
    return report_


async def queue(query: QueueQuery) -> CursorPage[QueueItem]:
    """Open reports, held discussions or held replies, oldest first."""
    if query.kind == "report":
        page = await paginate_cursor(
            Report.filter(status=ReportStatus.OPEN), query, _report_item, key=("created_at", "id")
        )
    else:
        model = Discussion if query.kind == "held_discussion" else Reply
        page = await paginate_cursor(
            model.filter(state=PostState.HELD, hidden=False, deleted_at=None),
            query,
            _held_item,
            key=("created_at", "id"),
        )
    return CursorPage[QueueItem](items=page.items, next_cursor=page.next_cursor)


async def _report_item(r: Report) -> QueueItem:
    model = Discussion if r.target_type == TargetType.DISCUSSION else Reply
    target = await model.get_or_none(id=r.target_id)
    discussion_id = (
        r.target_id if isinstance(target, Discussion) or target is None else target.discussion_id
    )
    return QueueItem(
        kind="report",
        target_type=r.target_type.value,
        target_id=r.target_id,
        discussion_id=discussion_id,
        author_id=r.target_author_id,
        excerpt=(target.body[:280] if target else ""),
        report=report_out(r),
        created_at=r.created_at,
    )


def _held_item(post: Target) -> QueueItem:
    is_discussion = isinstance(post, Discussion)
    return QueueItem(
        kind="held",
        target_type="discussion" if is_discussion else "reply",
        target_id=post.id,
        discussion_id=post.id if isinstance(post, Discussion) else post.discussion_id,
        author_id=post.author_id,
        excerpt=post.body[:280],
        created_at=post.created_at,
    )


# -- categories ------------------------------------------------------------------------------


async def create_category(data: CategoryCreate) -> Category:
    if await Category.exists(slug=data.slug):
        raise Conflict("A category with this slug exists.", field="slug")
    return await Category.create(**data.model_dump())


async def update_category(category_id: UUID, data: CategoryUpdate) -> Category:
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("No such category.")
    category.update_from_dict(data.model_dump(exclude_none=True))
    await category.save()
    return category
