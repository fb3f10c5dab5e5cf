"""HTTP routes under ``/api/gamification``: the caller's points, history, achievements
and streak, leaderboards, the achievement catalogue, and administrators' grants."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from kernel import (
    Conflict,
    CursorPage,
    NotFound,
    ValidationFailed,
    current_identity,
    paginate_cursor,
    problem_responses,
    require,
    transaction,
)

from . import boards, engine
from .models import Balance, Entry, Streak, Unlock
from .rules import current_rules
from .schemas import (
    AchievementList,
    AchievementOut,
    BoardOut,
    BoardQuery,
    EntryOut,
    GrantIn,
    GrantOut,
    HistoryQuery,
    MeOut,
    StandingOut,
    StreakOut,
    TierOut,
)
from .settings import plugin

GRANT = "gamification:grant"

bp = Blueprint("gamification", __name__)


def _me() -> str:
    identity = current_identity()
    assert identity.id is not None, "a signed-in identity without an id"
    return identity.id


def _entry(entry: Entry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        points=entry.points,
        reason=entry.reason,
        rule=entry.rule,
        scope=entry.scope,
        occurred_at=entry.occurred_at,
    )


async def _streak(user_id: str) -> StreakOut:
    streak = await Streak.get_or_none(user_id=user_id)
    if streak is None:
        return StreakOut(
            current=0, longest=0, last_day=None, timezone=await engine.timezone_of(user_id)
        )
    today = engine.local_day(datetime.now(UTC), streak.timezone)
    broken = (today - streak.last_day).days > 1 + plugin.settings.streak_grace_days
    return StreakOut(
        current=0 if broken else streak.current,
        longest=streak.longest,
        last_day=streak.last_day,
        timezone=streak.timezone,
    )


@bp.get("/me")
@require()
@validate_response(MeOut)
async def me() -> MeOut:
    """The caller's points and streak."""
    user_id = _me()
    balance = await Balance.get_or_none(user_id=user_id)
    return MeOut(
        user_id=user_id, points=balance.points if balance else 0, streak=await _streak(user_id)
    )


@bp.get("/me/streak")
@require()
@validate_response(StreakOut)
async def my_streak() -> StreakOut:
    """The caller's streak: consecutive days with a qualifying event, in their time zone."""
    return await _streak(_me())


@bp.get("/me/history")
@require()
@validate_querystring(HistoryQuery)
@validate_response(CursorPage[EntryOut])
async def history(query_args: HistoryQuery) -> CursorPage[EntryOut]:
    """The caller's ledger entries, newest first (``{items, next_cursor}``)."""
    return await paginate_cursor(
        Entry.filter(user_id=_me()), query_args, _entry, key=("-occurred_at", "-id")
    )


async def _achievements(user_id: str | None, catalogue: bool) -> list[AchievementOut]:
    rules = current_rules()
    unlocked: dict[str, dict[int, datetime]] = {}
    if user_id is not None:
        for row in await Unlock.filter(user_id=user_id).values(
            "achievement", "tier", "unlocked_at"
        ):
            unlocked.setdefault(row["achievement"], {})[row["tier"]] = row["unlocked_at"]
    longest = 0
    if user_id is not None and rules.streaks:
        streak = await Streak.get_or_none(user_id=user_id)
        longest = streak.longest if streak else 0
    items = []
    for achievement in rules.achievements.values():
        mine = unlocked.get(achievement.id, {})
        if achievement.hidden and not mine:
            continue  # hidden until earned
        if achievement.streak:
            progress = longest
        elif user_id is not None and not catalogue:
            progress = await Entry.filter(user_id=user_id, rule__in=achievement.rules).count()
        else:
            progress = 0
        items.append(
            AchievementOut(
                id=achievement.id,
                name=achievement.name,
                description=achievement.description,
                hidden=achievement.hidden,
                tiers=[TierOut(tier=t, unlocked_at=mine.get(t)) for t in achievement.tiers],
                progress=progress,
                next_tier=next((t for t in achievement.tiers if t not in mine), None),
            )
        )
    return items


@bp.get("/me/achievements")
@require()
@validate_response(AchievementList)
async def my_achievements() -> AchievementList:
    """Every achievement the caller can see, with their progress toward the next tier
    (hidden ones once earned)."""
    return AchievementList(items=await _achievements(_me(), catalogue=False))


@bp.get("/achievements")
@validate_response(AchievementList)
async def catalogue() -> AchievementList:
    """The achievement catalogue; hidden achievements appear once the caller earned one."""
    identity = current_identity()
    user_id = identity.id if identity.is_authenticated else None
    return AchievementList(items=await _achievements(user_id, catalogue=True))


@bp.get("/leaderboards/<window>")
@require()
@problem_responses(404, 503)
@validate_querystring(BoardQuery)
@validate_response(BoardOut)
async def leaderboard(window: str, query_args: BoardQuery) -> BoardOut:
    """The top of a board (``day``, ``week``, ``month`` or ``all``; periods in UTC),
    the caller's rank and the rows around it, even outside the top."""
    if window not in boards.WINDOWS:
        raise NotFound(f"no window {window!r}: windows are {', '.join(boards.WINDOWS)}")
    now = datetime.now(UTC)
    if query_args.period is not None:
        try:
            now = boards.start_of(window, query_args.period)  # type: ignore[arg-type]
        except ValueError as error:
            raise ValidationFailed.field("period", str(error)) from None
        if now > datetime.now(UTC):
            raise ValidationFailed.field("period", "a period that has not started")
    settings = plugin.settings
    top, me, around = await boards.read(
        window,
        query_args.scope,
        _me(),
        query_args.size,
        settings.neighbours,
        now,  # type: ignore[arg-type]
    )
    people = await engine.profiles(list({s.user_id for s in [*top, *around]}))

    def out(standing: boards.Standing) -> StandingOut:
        info = people.get(standing.user_id)
        return StandingOut(
            rank=standing.rank,
            user_id=standing.user_id,
            points=standing.points,
            display_name=info.display_name if info is not None else None,
        )

    return BoardOut(
        window=window,  # type: ignore[arg-type]
        scope=query_args.scope,
        period=boards.period(window, now),  # type: ignore[arg-type]
        top=[out(s) for s in top],
        me=out(me) if me else None,
        neighbours=[out(s) for s in around],
    )


@bp.post("/admin/grants")
@require(GRANT)
@problem_responses(409)
@validate_request(GrantIn)
@validate_response(GrantOut, 201)
async def grant(data: GrantIn) -> tuple[GrantOut, int]:
    """Grant (positive) or revoke (negative) points with a reason: a ledger entry of its
    own, never an edit."""
    async with transaction():
        recorded = await engine.grant(
            data.user_id, data.points, data.reason, _me(), datetime.now(UTC)
        )
        if recorded is None:
            raise Conflict("This user's data was erased: nothing can be granted to them.")
        entry = await Entry.get(id=recorded.entry_id)
    return GrantOut(
        **_entry(entry).model_dump(),
        user_id=entry.user_id,
        balance=recorded.balance,
        granted_by=entry.granted_by,
    ), 201
