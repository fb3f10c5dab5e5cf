"""``/api/feeds``: feeds (mine, a user's, a course's), follows and my privacy setting."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from kernel import (
    CursorQuery,
    NotFound,
    ValidationFailed,
    current_identity,
    paginate_cursor,
    problem_responses,
    require,
)

from . import discovery
from .activity import home, public, titles_of, visibility_of, visible_to
from .caching import PAGE_TTL, cached, renew
from .models import Activity, Follow, Privacy
from .schemas import (
    ActivityOut,
    Counts,
    DiscoverQuery,
    Feed,
    FeedQuery,
    FollowIn,
    FollowList,
    FollowOut,
    FollowQuery,
    PrivacyIn,
    PrivacyOut,
    Recommendation,
    Recommendations,
    SearchQuery,
)
from .settings import NAME, plugin

bp = Blueprint(NAME, __name__, url_prefix=f"/api/{NAME}")
READ = f"{NAME}:read"
FOLLOW = f"{NAME}:follow"
ID_MAX = 64


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([{"pointer": "/id", "detail": message}], message)


def _me() -> str:
    return str(current_identity().id)


def _id(value: str) -> str:
    if not value or len(value) > ID_MAX:
        raise NotFound("No such user or course.")
    return value


async def _page(queryset: Any, query: FeedQuery, scope: str, depends: list[str]) -> Feed:
    """One page of ``queryset``, cached under ``scope`` (the feed and its reader) and
    the tokens ``depends`` (:mod:`.caching`): the events that change it renew one."""

    async def compute() -> dict[str, Any]:
        page = await paginate_cursor(
            queryset, CursorQuery(cursor=query.cursor, size=query.size), lambda a: a
        )
        titles = await titles_of(page.items)
        feed = Feed(
            items=[ActivityOut.model_validate(public(a, titles)) for a in page.items],
            next_cursor=page.next_cursor,
        )
        return feed.model_dump(mode="json")

    key = f"feed:{scope}:{query.size}:{query.cursor or ''}"
    return Feed.model_validate(await cached(key, [*depends, "all"], compute, PAGE_TTL))


@bp.get("/me")
@require(READ)
@validate_querystring(FeedQuery)
@validate_response(Feed)
@problem_responses(422)
async def my_feed(query_args: FeedQuery) -> Feed:
    """Activity of the users and courses I follow, and mine, newest first."""
    me = _me()
    return await _page(home(me), query_args, f"me:{me}", [f"viewer:{me}"])


@bp.get("/users/<user_id>")
@require(READ)
@validate_querystring(FeedQuery)
@validate_response(Feed)
@problem_responses(404, 422)
async def user_feed(user_id: str, query_args: FeedQuery) -> Feed:
    """One user's activity that I may see (all of it when it is mine)."""
    me, user_id = _me(), _id(user_id)
    qs = Activity.filter(actor_id=user_id).filter(visible_to(me))
    depends = [f"viewer:{me}", f"actor:{user_id}"]
    return await _page(qs, query_args, f"user:{user_id}:{me}", depends)


@bp.get("/courses/<course_id>")
@require(READ)
@validate_querystring(FeedQuery)
@validate_response(Feed)
@problem_responses(404, 422)
async def course_feed(course_id: str, query_args: FeedQuery) -> Feed:
    """Activity about one course that I may see."""
    me, course_id = _me(), _id(course_id)
    qs = Activity.filter(course_id=course_id).filter(visible_to(me))
    depends = [f"viewer:{me}", f"course:{course_id}"]
    return await _page(qs, query_args, f"course:{course_id}:{me}", depends)


# -- follows ---------------------------------------------------------------------------


def _follow_out(follow: Follow) -> FollowOut:
    return FollowOut(kind=follow.kind, id=follow.target_id, created_at=follow.created_at)  # type: ignore[arg-type]


@bp.get("/follows")
@require(READ)
@validate_querystring(FollowQuery)
@validate_response(FollowList)
@problem_responses(422)
async def my_follows(query_args: FollowQuery) -> FollowList:
    """What I follow, latest first."""
    qs = Follow.filter(user_id=_me())
    if query_args.kind:
        qs = qs.filter(kind=query_args.kind)
    page = await paginate_cursor(
        qs, CursorQuery(cursor=query_args.cursor, size=query_args.size), _follow_out
    )
    return FollowList(items=page.items, next_cursor=page.next_cursor)


@bp.post("/follows")
@require(FOLLOW)
@validate_request(FollowIn)
@validate_response(FollowOut, 201)
@validate_response(FollowOut, 200)
@problem_responses(422)
async def follow(data: FollowIn) -> tuple[FollowOut, int]:
    """Follow a user or a course (again is fine: 200 with the existing follow)."""
    me = _me()
    if data.kind == "user" and data.id == me:
        raise _invalid("You cannot follow yourself.")
    existing = await Follow.get_or_none(user_id=me, kind=data.kind, target_id=data.id)
    if existing is not None:
        return _follow_out(existing), 200
    if await Follow.filter(user_id=me).count() >= plugin.settings.max_follows:
        raise _invalid(f"You follow {plugin.settings.max_follows} already.")
    made, created = await Follow.get_or_create(user_id=me, kind=data.kind, target_id=data.id)
    await renew(f"viewer:{me}")  # committed: my feeds change now
    return _follow_out(made), 201 if created else 200


@bp.delete("/follows/<kind>/<target_id>")
@require(FOLLOW)
@problem_responses(404)
async def unfollow(kind: str, target_id: str) -> tuple[str, int]:
    """Stop following a user or a course."""
    if kind not in ("user", "course"):
        raise NotFound("Follows are of a user or a course.")
    me = _me()
    deleted = await Follow.filter(user_id=me, kind=kind, target_id=_id(target_id)).delete()
    if not deleted:
        raise NotFound("You do not follow that.")
    await renew(f"viewer:{me}")
    return "", 204


@bp.get("/users/<user_id>/counts")
@require(READ)
@validate_response(Counts)
@problem_responses(404)
async def counts(user_id: str) -> Counts:
    """How many users follow this user, and how many users and courses they follow."""
    user_id = _id(user_id)
    return Counts(
        followers=await Follow.filter(kind="user", target_id=user_id).count(),
        following=await Follow.filter(user_id=user_id).count(),
    )


# -- privacy ---------------------------------------------------------------------------


@bp.get("/settings")
@require(READ)
@validate_response(PrivacyOut)
async def get_settings() -> PrivacyOut:
    """Who may see my activity (the default when I never chose)."""
    return PrivacyOut(visibility=await visibility_of(_me()))  # type: ignore[arg-type]


@bp.put("/settings")
@require(READ)
@validate_request(PrivacyIn)
@validate_response(PrivacyOut)
@problem_responses(422)
async def put_settings(data: PrivacyIn) -> PrivacyOut:
    """Choose who may see my activity; it applies at once to everything already shown."""
    await Privacy.update_or_create(defaults={"visibility": data.visibility}, user_id=_me())
    await renew("all")  # whose feeds show me is not known here: every cached page goes
    return PrivacyOut(visibility=data.visibility)


# -- discovery -------------------------------------------------------------------------


def _recommendations(items: list[dict[str, Any]]) -> Recommendations:
    return Recommendations(items=[Recommendation.model_validate(i) for i in items])


@bp.get("/discover")
@require(READ)
@validate_querystring(DiscoverQuery)
@validate_response(Recommendations)
@problem_responses(422)
async def discover(query_args: DiscoverQuery) -> Recommendations:
    """Courses for me: close to what I took, blended with popularity, with a reason."""
    return _recommendations(await discovery.discover(_me(), query_args.size))


@bp.get("/similar/<kind>/<object_id>")
@require(READ)
@validate_querystring(DiscoverQuery)
@validate_response(Recommendations)
@problem_responses(404, 422)
async def similar(kind: str, object_id: str, query_args: DiscoverQuery) -> Recommendations:
    """Courses (or discussions) closest to this one."""
    if kind not in ("course", "discussion"):
        raise NotFound("Similar content is of a course or a discussion.")
    found = await discovery.similar(kind, _id(object_id), query_args.size)
    if found is None:
        raise NotFound("Nothing is known of that (not embedded yet).")
    return _recommendations(found)


@bp.get("/search")
@require(READ)
@validate_querystring(SearchQuery)
@validate_response(Recommendations)
@problem_responses(422, 503)
async def search(query_args: SearchQuery) -> Recommendations:
    """Semantic search: the query is embedded by a worker task this request waits for
    (``LYO_FEEDS__SEARCH_TIMEOUT``, then 503); the API process never loads the model."""
    return _recommendations(await discovery.search(query_args.q, query_args.kind, query_args.size))
