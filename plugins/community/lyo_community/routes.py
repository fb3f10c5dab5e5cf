"""HTTP routes under ``/api/community``. Thin: validate, check access, call the modules
that do the work (:mod:`.posts`, :mod:`.threads`, :mod:`.reactions`, :mod:`.moderation`,
:mod:`.search`)."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint, Response
from quart_schema import (
    validate_querystring,
    validate_request,
    validate_response,
)

from kernel import (
    CursorPage,
    CursorQuery,
    Page,
    current_identity,
    json_response,
    paginate_cursor,
    problem_responses,
    require,
    responds,
)

from . import listing, moderation, posts, reactions, rows, search, threads
from .access import MODERATE, POST, REACT, REPORT, discussion_for, reply_for
from .models import Block, Category, ModerationAction, Subscription, TargetType
from .schemas import (
    BlockList,
    BlockOut,
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    CourseFeedQuery,
    DiscussionCreate,
    DiscussionDetail,
    DiscussionOut,
    DiscussionQuery,
    DiscussionUpdate,
    ModerationIn,
    ModerationLogOut,
    QueueItem,
    QueueQuery,
    ReactionCounts,
    ReplyCreate,
    ReplyOut,
    ReplyUpdate,
    ReportCreate,
    ReportDecision,
    ReportOut,
    SearchQuery,
    SearchResults,
    Subscribed,
    ThreadQuery,
)
from .settings import NAME

bp = Blueprint(NAME, __name__)
NO_CONTENT = ("", 204)


# -- discussions -----------------------------------------------------------------------------


@bp.get("/discussions")
@validate_querystring(DiscussionQuery)
@responds(Page[DiscussionOut])
async def list_discussions(query_args: DiscussionQuery) -> Response:
    """Discussions in numbered pages (``page``, ``size``; ``total``), pinned ones first,
    then newest first (``sort``: ``recent``, ``active``: by last activity, ``top``: by
    reactions); filters ``category`` (slug), ``course_id``, ``lesson_id``, ``tag``,
    ``author`` (an id or ``me``), ``pinned``."""
    return json_response(await listing.listing(query_args, current_identity()), encoded=True)


@bp.get("/courses/<uuid:course_id>/discussions")
@validate_querystring(CourseFeedQuery)
@responds(CursorPage[DiscussionOut])
async def course_discussions(course_id: UUID, query_args: CourseFeedQuery) -> Response:
    """A course's discussions as a feed (``cursor``, ``next_cursor``: stable while
    discussions arrive), with the sorts and other filters of ``GET /discussions``."""
    page = await listing.feed(course_id, query_args, current_identity())
    return json_response(page, encoded=True)


@bp.post("/discussions")
@require(POST)
@problem_responses(429)
@validate_request(DiscussionCreate)
@validate_response(DiscussionOut, 201)
async def create_discussion(data: DiscussionCreate) -> tuple[DiscussionOut, int]:
    """Start a discussion, optionally in a category and about a course or lesson. A new
    account's first posts may be held for a moderator (``held: true``)."""
    discussion = await posts.create_discussion(data, current_identity())
    return rows.discussion_out(discussion), 201


@bp.get("/discussions/<uuid:discussion_id>")
@validate_querystring(ThreadQuery)
@responds(DiscussionDetail)
async def get_discussion(discussion_id: UUID, query_args: ThreadQuery) -> Response:
    """A discussion with its reactions and its reply tree: top-level replies oldest
    first (paged by ``cursor``/``size``), each with all its answers nested."""
    page = await threads.detail(discussion_id, query_args, current_identity())
    return json_response(page, encoded=True)


@bp.patch("/discussions/<uuid:discussion_id>")
@require(POST)
@validate_request(DiscussionUpdate)
@validate_response(DiscussionOut)
async def update_discussion(discussion_id: UUID, data: DiscussionUpdate) -> DiscussionOut:
    """Edit the title, body or tags: the author within the edit window, moderators any time."""
    identity = current_identity()
    discussion = await discussion_for(discussion_id, identity)
    await posts.update_discussion(discussion, data, identity)
    return rows.discussion_out(discussion)


@bp.delete("/discussions/<uuid:discussion_id>")
@require()
async def delete_discussion(discussion_id: UUID) -> tuple[str, int]:
    """Delete (softly: the replies stay readable) a discussion of one's own."""
    identity = current_identity()
    await posts.delete_discussion(await discussion_for(discussion_id, identity), identity)
    return NO_CONTENT


# -- replies -------------------------------------------------------------------------------


@bp.post("/discussions/<uuid:discussion_id>/replies")
@require(POST)
@problem_responses(409, 429)
@validate_request(ReplyCreate)
@validate_response(ReplyOut, 201)
async def create_reply(discussion_id: UUID, data: ReplyCreate) -> tuple[ReplyOut, int]:
    """Reply to the discussion, or (``parent_id``) to one of its replies. 409 when the
    discussion is locked."""
    identity = current_identity()
    discussion = await discussion_for(discussion_id, identity)
    reply = await posts.create_reply(discussion, data, identity)
    return rows.reply_out(reply), 201


@bp.patch("/replies/<uuid:reply_id>")
@require(POST)
@validate_request(ReplyUpdate)
@validate_response(ReplyOut)
async def update_reply(reply_id: UUID, data: ReplyUpdate) -> ReplyOut:
    """Edit a reply: its author within the edit window, moderators any time."""
    identity = current_identity()
    reply, discussion = await reply_for(reply_id, identity)
    await posts.update_reply(reply, discussion, data, identity)
    return rows.reply_out(reply)


@bp.delete("/replies/<uuid:reply_id>")
@require()
async def delete_reply(reply_id: UUID) -> tuple[str, int]:
    """Delete a reply of one's own; it stays in the thread as a placeholder."""
    identity = current_identity()
    reply, _ = await reply_for(reply_id, identity)
    await posts.delete_reply(reply, identity)
    return NO_CONTENT


# -- reactions -----------------------------------------------------------------------------


async def _target(target_type: TargetType, target_id: UUID) -> tuple[object, object]:
    identity = current_identity()
    if target_type == TargetType.DISCUSSION:
        discussion = await discussion_for(target_id, identity)
        return discussion, discussion
    return await reply_for(target_id, identity)


def _path(kind_of: TargetType) -> tuple[str, str]:
    """The URL prefix and path parameter for a target type."""
    if kind_of == TargetType.DISCUSSION:
        return "/discussions", "discussion_id"
    return "/replies", "reply_id"


def _reaction_routes(kind_of: TargetType) -> None:
    prefix, param = _path(kind_of)

    async def add(kind: str, **ids: UUID) -> ReactionCounts:
        target, discussion = await _target(kind_of, ids[param])
        identity = current_identity()
        return await reactions.react(kind_of, target, discussion, kind, identity, True)  # type: ignore[arg-type]

    async def remove(kind: str, **ids: UUID) -> ReactionCounts:
        target, discussion = await _target(kind_of, ids[param])
        identity = current_identity()
        return await reactions.react(kind_of, target, discussion, kind, identity, False)  # type: ignore[arg-type]

    add.__doc__ = f"React to a {kind_of.value} (idempotent: once per kind and user)."
    remove.__doc__ = f"Take a reaction to a {kind_of.value} back (idempotent)."
    for func, method in ((add, "put"), (remove, "delete")):
        func.__name__ = f"{method}_{kind_of.value}_reaction"
        guarded = problem_responses(422, 429)(require(REACT)(func))
        wrapped = validate_response(ReactionCounts)(guarded)
        getattr(bp, method)(f"{prefix}/<uuid:{param}>/reactions/<kind>")(wrapped)


_reaction_routes(TargetType.DISCUSSION)
_reaction_routes(TargetType.REPLY)


# -- reports and subscriptions ---------------------------------------------------------------


def _report_routes(kind_of: TargetType) -> None:
    prefix, param = _path(kind_of)

    async def file_report(data: ReportCreate, **ids: UUID) -> tuple[ReportOut, int]:
        target, _ = await _target(kind_of, ids[param])
        created = await moderation.report(kind_of, target, data.reason, current_identity())  # type: ignore[arg-type]
        return moderation.report_out(created), 201

    file_report.__doc__ = f"Report a {kind_of.value} to the moderators (one open report each)."
    file_report.__name__ = f"report_{kind_of.value}"
    wrapped = validate_response(ReportOut, 201)(
        validate_request(ReportCreate)(problem_responses(409, 429)(require(REPORT)(file_report)))
    )
    bp.post(f"{prefix}/<uuid:{param}>/reports")(wrapped)


_report_routes(TargetType.DISCUSSION)
_report_routes(TargetType.REPLY)


@bp.put("/discussions/<uuid:discussion_id>/subscription")
@require()
@validate_response(Subscribed)
async def subscribe(discussion_id: UUID) -> Subscribed:
    """Be notified (``user:{id}``, kind ``community.reply``) of new replies."""
    identity = current_identity()
    discussion = await discussion_for(discussion_id, identity)
    await Subscription.get_or_create(user_id=identity.id, discussion_id=discussion.id)
    return Subscribed(subscribed=True)


@bp.delete("/discussions/<uuid:discussion_id>/subscription")
@require()
@validate_response(Subscribed)
async def unsubscribe(discussion_id: UUID) -> Subscribed:
    identity = current_identity()
    discussion = await discussion_for(discussion_id, identity)
    await Subscription.filter(user_id=identity.id, discussion_id=discussion.id).delete()
    return Subscribed(subscribed=False)


# -- blocks --------------------------------------------------------------------------------


@bp.get("/blocks")
@require()
@validate_response(BlockList)
async def list_blocks() -> BlockList:
    """The users the caller blocked."""
    rows = await Block.filter(blocker_id=current_identity().id).order_by("created_at")
    return BlockList(
        items=[BlockOut(blocked_id=b.blocked_id, created_at=b.created_at) for b in rows]
    )


@bp.put("/blocks/<user_id>")
@require()
@problem_responses(422)
@validate_response(BlockOut)
async def block(user_id: str) -> BlockOut:
    """Block a user: no replies to the caller's posts, and no notices, from them."""
    identity = current_identity()
    if not 1 <= len(user_id) <= 64 or user_id == identity.id:
        from kernel import ValidationFailed

        raise ValidationFailed([{"pointer": "/path/user_id", "detail": "Another user's id."}])
    row, _ = await Block.get_or_create(blocker_id=identity.id, blocked_id=user_id)
    return BlockOut(blocked_id=row.blocked_id, created_at=row.created_at)


@bp.delete("/blocks/<user_id>")
@require()
async def unblock(user_id: str) -> tuple[str, int]:
    await Block.filter(blocker_id=current_identity().id, blocked_id=user_id).delete()
    return NO_CONTENT


# -- moderation ----------------------------------------------------------------------------


def _moderation_routes(kind_of: TargetType, out: type) -> None:
    prefix, param = _path(kind_of)

    async def act(data: ModerationIn, **ids: UUID) -> object:
        identity = current_identity()
        target, _ = await _target(kind_of, ids[param])
        await moderation.moderate(kind_of, target, data, identity)  # type: ignore[arg-type]
        return (
            rows.discussion_out(target)
            if kind_of == TargetType.DISCUSSION
            else rows.reply_out(target)
        )  # type: ignore[arg-type]

    act.__doc__ = (
        f"Moderate a {kind_of.value}: hide, unhide, approve or reject (held posts), delete"
        + (", lock, unlock, pin, unpin, move (``category_id``)." if out is DiscussionOut else ".")
    )
    act.__name__ = f"moderate_{kind_of.value}"
    wrapped = validate_response(out)(
        validate_request(ModerationIn)(problem_responses(409)(require(MODERATE)(act)))
    )
    bp.post(f"{prefix}/<uuid:{param}>/moderation")(wrapped)


_moderation_routes(TargetType.DISCUSSION, DiscussionOut)
_moderation_routes(TargetType.REPLY, ReplyOut)


@bp.get("/moderation/queue")
@require(MODERATE)
@validate_querystring(QueueQuery)
@validate_response(CursorPage[QueueItem])
async def moderation_queue(query_args: QueueQuery) -> CursorPage[QueueItem]:
    """Open reports (``kind=report``) or posts held for approval (``held_discussion``,
    ``held_reply``), oldest first."""
    return await moderation.queue(query_args)


@bp.post("/reports/<uuid:report_id>/decision")
@require(MODERATE)
@problem_responses(409)
@validate_request(ReportDecision)
@validate_response(ReportOut)
async def decide_report(report_id: UUID, data: ReportDecision) -> ReportOut:
    """Resolve (upheld; ``hide`` hides the content too) or dismiss an open report."""
    return moderation.report_out(await moderation.decide(report_id, data, current_identity()))


@bp.get("/moderation/log")
@require(MODERATE)
@validate_querystring(CursorQuery)
@validate_response(CursorPage[ModerationLogOut])
async def moderation_log(query_args: CursorQuery) -> CursorPage[ModerationLogOut]:
    """The moderation audit log, newest first."""

    def out(a: ModerationAction) -> ModerationLogOut:
        return ModerationLogOut.model_validate(a, from_attributes=True)

    return await paginate_cursor(
        ModerationAction.all(), query_args, out, key=("-created_at", "-id")
    )


# -- categories ------------------------------------------------------------------------------


def _category_out(c: Category) -> CategoryOut:
    return CategoryOut.model_validate(c, from_attributes=True)


@bp.get("/categories")
@validate_response(CategoryList)
async def list_categories() -> CategoryList:
    """Categories in their order (archived ones last)."""
    rows = await Category.all().order_by("archived", "position", "name")
    return CategoryList(items=[_category_out(c) for c in rows])


@bp.post("/categories")
@require(MODERATE)
@problem_responses(409)
@validate_request(CategoryCreate)
@validate_response(CategoryOut, 201)
async def create_category(data: CategoryCreate) -> tuple[CategoryOut, int]:
    return _category_out(await moderation.create_category(data)), 201


@bp.patch("/categories/<uuid:category_id>")
@require(MODERATE)
@validate_request(CategoryUpdate)
@validate_response(CategoryOut)
async def update_category(category_id: UUID, data: CategoryUpdate) -> CategoryOut:
    """Rename, describe, reorder (``position``) or archive a category."""
    return _category_out(await moderation.update_category(category_id, data))


# -- search --------------------------------------------------------------------------------


@bp.get("/search")
@validate_querystring(SearchQuery)
@validate_response(SearchResults)
async def search_posts(query_args: SearchQuery) -> SearchResults:
    """Full-text search over public discussions and replies (PostgreSQL: ranked, with
    highlighted snippets; SQLite: substring match)."""
    return await search.search(query_args)
