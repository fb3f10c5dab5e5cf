"""Leaderboards: the kernel cache's sorted sets (Redis in production), derived from the
ledger, which stays the source of truth.

A board is one window's period and one scope: ``board:{window}:{period}:{scope}``, with
windows ``day`` (``2026-12-07``), ``week`` (ISO, ``2026-W50``), ``month`` (``2026-12``)
and ``all``, and scopes ``global`` or ``course:{id}``. Periods are UTC: at midnight UTC
awards start going to the next period's board, and a board not seen yet is built from
the ledger on first read, so no window has a gap. An award reaches the board of the
period it was earned in (its ``occurred_at``).

Each built board holds a sentinel member with the lowest possible score: a board
without it (never built, or lost when Redis restarted empty) is rebuilt from the ledger
before it is read. Increments after commit make boards current between rebuilds; the
periodic ``gamification:rebuild`` task reconciles what an outage made them miss.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.functions import Sum

from kernel import ServiceUnavailable, after_commit, transaction

from . import ledger
from .models import Entry, Exclusion
from .settings import NAME, plugin

log = logging.getLogger(__name__)

Window = Literal["day", "week", "month", "all"]
WINDOWS: tuple[Window, ...] = ("day", "week", "month", "all")
SENTINEL = "~"  # never a user id; scored below any real total
SENTINEL_SCORE = -1e18
_LINGER = 0.02  # seconds a flush waits for more awards to go with it (reads do not wait)
_TTL: dict[str, float | None] = {
    "day": 3 * 86400,
    "week": 15 * 86400,
    "month": 70 * 86400,
    "all": None,
}


def period(window: Window, at: datetime) -> str:
    at = at.astimezone(UTC)
    if window == "day":
        return at.date().isoformat()
    if window == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if window == "month":
        return f"{at.year}-{at.month:02d}"
    return "all"


def start_of(window: Window, text: str) -> datetime:
    """The first instant (UTC) of period ``text`` of ``window``; ``ValueError`` if it is
    not one (``2026-12-07``, ``2026-W49``, ``2026-12``)."""
    if window == "day":
        day = date.fromisoformat(text) if len(text) == 10 else None
    elif window == "week":
        day = date.fromisocalendar(int(text[:4]), int(text[6:]), 1) if "-W" in text else None
    elif window == "month":
        day = date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    else:
        day = None
    if day is None:
        raise ValueError(f"not a period of window {window!r}")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def bounds(window: Window, at: datetime) -> tuple[datetime | None, datetime | None]:
    """The UTC instants [start, end) of the period of ``window`` holding ``at``."""
    at = at.astimezone(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return midnight, midnight + timedelta(days=1)
    if window == "week":
        start = midnight - timedelta(days=at.weekday())
        return start, start + timedelta(days=7)
    if window == "month":
        start = midnight.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    return None, None


def key(window: Window, at: datetime, scope: str = "global") -> str:
    return f"board:{window}:{period(window, at)}:{scope}"


def topic(window: Window, scope: str) -> str:
    return f"{NAME}:leaderboard:{window}:{scope}"


@dataclass(frozen=True)
class Award:
    """What a committed ledger entry adds to the boards."""

    user_id: str
    points: int
    scope: str | None
    occurred_at: datetime
    entry_id: int = 0


def _boards(award: Award) -> Iterable[tuple[Window, str]]:
    for window in WINDOWS:
        yield window, "global"
        if award.scope:
            yield window, f"course:{award.scope}"


async def add(award: Award) -> None:
    """Add ``award`` to its boards once the current transaction commits. The delivery
    does not wait for Redis: awards queue in this process and one flush at a time
    sends them, those to the same board and user summed, so a burst of events costs
    fewer Redis commands than events. A flush that fails is logged (the periodic
    rebuild reconciles); reads in this process wait for the flush first."""
    db = ledger.connection()
    held = _held.get()
    if held is not None and held.db is db and not held.sent:
        held.awards.append(award)  # this transaction's callback takes it too
        return
    held = _Held(db, [award])
    if isinstance(db, TransactionalDBClient):
        _held.set(held)
    queue = _queue()

    async def put() -> None:
        # first thing after the commit (no await before it): a rebuild reading the
        # ledger meanwhile would count these awards twice
        held.sent = True
        for each in held.awards:
            queue.put(each)

    await after_commit(put)


@dataclass
class _Held:
    """The awards of one transaction, put on the queue together once it commits."""

    db: object
    awards: list[Award]
    sent: bool = False


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
    "gamification_held", default=None
)


class _Queue:
    """Board increments waiting for this process's next flush."""

    def __init__(self, kernel: object) -> None:
        self.kernel = kernel
        self.waiting: list[Award] = []
        self.flushing: asyncio.Task[None] | None = None
        self.hurry = asyncio.Event()  # set: the flush goes now, not after _LINGER
        # a flush and a rebuild never overlap; a rebuilt board holds the ledger's entries
        # up to its mark, and a flush adds only later ones to it
        self.lock = asyncio.Lock()
        self.marks: dict[str, int] = {}

    def put(self, award: Award) -> None:
        if not award.points:
            return
        self.waiting.append(award)
        if self.flushing is None or self.flushing.done():
            loop = asyncio.get_running_loop()
            self.hurry = hurry = asyncio.Event()
            loop.call_later(_LINGER, hurry.set)
            self.flushing = loop.create_task(self._flush())
            _tasks.add(self.flushing)
            self.flushing.add_done_callback(_tasks.discard)

    async def settle(self) -> None:
        """Wait until what was queued so far is on the boards (or failed)."""
        if self.flushing is not None and not self.flushing.done():
            self.hurry.set()
            await asyncio.shield(self.flushing)

    def _increments(self) -> dict[tuple[Window, str, str, str], int]:
        """What is waiting, summed per (window, board, scope, user), leaving out what a
        rebuilt board already holds."""
        batch: dict[tuple[Window, str, str, str], int] = {}
        for award in self.waiting:
            for window, scope in _boards(award):
                board = key(window, award.occurred_at, scope)
                if award.entry_id > self.marks.get(board, 0):
                    each = (window, board, scope, award.user_id)
                    batch[each] = batch.get(each, 0) + award.points
        self.waiting = []
        return batch

    async def _flush(self) -> None:
        await self.hurry.wait()  # the awards of the next few events join this flush
        cache = plugin.cache
        while self.waiting:
            try:
                async with self.lock:
                    batch = self._increments()
                    increments: dict[str, dict[str, float]] = {}
                    for (_, board, _, user_id), points in batch.items():
                        increments.setdefault(board, {})[user_id] = points
                    ttls = {b: t for w, b, _, _ in batch if (t := _TTL[w]) is not None}
                    # every board and user in one round trip, atomically
                    await cache.zincrby_many(increments, ttls)
            except ServiceUnavailable:
                log.warning(
                    "gamification: boards not updated (cache unavailable); rebuild reconciles"
                )
                continue
            except Exception:  # a bug: logged, and the rebuild reconciles the boards
                log.exception("gamification: boards not updated")
                continue
            touched = {(window, scope) for window, _, scope, _ in batch}
            await asyncio.gather(*(_broadcast(window, scope) for window, scope in touched))


_queues: dict[int, _Queue] = {}  # per kernel (tests run several in one process)


async def settle() -> None:
    """Wait until this process's queued board increments are sent."""
    await _queue().settle()


async def close() -> None:
    """At shutdown: send what is queued, drop leaderboard messages still due (they
    would read the database after it closed)."""
    await settle()
    for task in list(_tasks):
        task.cancel()


def _queue() -> _Queue:
    kernel = plugin.kernel
    queue = _queues.get(id(kernel))
    if queue is None or queue.kernel is not kernel:  # an id reused by a later kernel
        queue = _queues[id(kernel)] = _Queue(kernel)
    return queue


async def remove(user_id: str, scopes: Iterable[str], now: datetime | None = None) -> None:
    """Take ``user_id`` off the current boards of every window, global and ``scopes``."""
    now = now or datetime.now(UTC)
    cache = plugin.cache
    try:
        for window in WINDOWS:
            for scope in ("global", *(f"course:{s}" for s in scopes)):
                await cache.zrem(key(window, now, scope), user_id)
    except ServiceUnavailable:
        log.warning("gamification: %s not taken off the boards (cache unavailable)", user_id)


async def totals(window: Window, scope: str, at: datetime) -> dict[str, int]:
    """Each user's points in the period of ``window`` holding ``at``, from the ledger,
    leaving out excluded users (deactivated or erased)."""
    start, end = bounds(window, at)
    entries = Entry.all()
    if start is not None:
        entries = entries.filter(occurred_at__gte=start, occurred_at__lt=end)
    if scope != "global":
        entries = entries.filter(scope=scope.removeprefix("course:"))
    excluded = set(await Exclusion.all().values_list("user_id", flat=True))
    rows = (
        await entries.group_by("user_id").annotate(total=Sum("points")).values("user_id", "total")
    )
    return {
        row["user_id"]: int(row["total"] or 0)
        for row in rows
        if row["user_id"] not in excluded and row["total"]
    }


async def rebuild(window: Window, scope: str, at: datetime | None = None) -> int:
    """Replace one board by the ledger's totals; how many users it holds."""
    at = at or datetime.now(UTC)
    board = key(window, at, scope)
    cache = plugin.cache
    queue = _queue()
    async with queue.lock:
        # in a transaction: on SQLite that waits for the one open (a read outside would
        # see its uncommitted awards on the shared connection, then count them twice)
        async with transaction() as connection:
            if ledger.is_postgres(connection):  # the mark and the totals: one snapshot
                await connection.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            mark = await Entry.all().order_by("-id").first().values_list("id", flat=True)
            found = await totals(window, scope, at)
        queue.marks[board] = int(mark or 0)
        scores = {user: float(total) for user, total in found.items()}
        await cache.delete(board)
        await cache.zadd(board, {**scores, SENTINEL: SENTINEL_SCORE}, ttl=_TTL[window])
    return len(scores)


@dataclass(frozen=True)
class Standing:
    rank: int  # 1-based
    user_id: str
    points: int


async def read(
    window: Window,
    scope: str,
    user_id: str | None,
    size: int,
    neighbours: int,
    at: datetime | None = None,
    *,
    settle: bool = True,
) -> tuple[list[Standing], Standing | None, list[Standing]]:
    """The top ``size``, the caller's standing (``None`` when not on the board) and the
    rows around it (``neighbours`` above and below, the caller included)."""
    at = at or datetime.now(UTC)
    board = key(window, at, scope)
    cache = plugin.cache

    async def nobody() -> None:
        return None

    async def look() -> tuple[float | None, list[tuple[str, float]], int | None]:
        # three reads at once: the board's sentinel, its top and the caller's rank
        return await asyncio.gather(
            cache.zscore(board, SENTINEL),
            cache.zrange(board, 0, size - 1),
            cache.zrank(board, user_id) if user_id is not None else nobody(),
        )

    if settle:  # this process's own awards first (not from the flush itself)
        await _queue().settle()
    built, rows, rank = await look()
    if built is None:  # never built, or lost with Redis: from the ledger first
        await rebuild(window, scope, at)
        built, rows, rank = await look()
    top = _standings(rows, 0)
    me: Standing | None = None
    around: list[Standing] = []
    if user_id is not None and rank is not None:
        first = max(0, rank - neighbours)
        around = _standings(await cache.zrange(board, first, rank + neighbours), first)
        me = next((s for s in around if s.user_id == user_id), None)
    return top, me, around


def _standings(rows: list[tuple[str, float]], first: int) -> list[Standing]:
    return [
        Standing(rank=first + i + 1, user_id=member, points=int(score))
        for i, (member, score) in enumerate(rows)
        if member != SENTINEL
    ]


# per (kernel, window, scope), in this process: a send due at the end of the interval,
# when the last was sent; the tasks are held until done
_pending: set[tuple[int, str, str]] = set()
_sent: dict[tuple[int, str, str], float] = {}
_tasks: set[asyncio.Task[None]] = set()


async def _broadcast(window: Window, scope: str) -> None:
    """Tell ``gamification:leaderboard:{window}:{scope}`` the board changed, at most once
    per ``broadcast_interval`` across processes; a change inside the interval is sent
    when it ends (from this process), so the last change is never left unsent."""
    interval = plugin.settings.broadcast_interval
    kernel = plugin.kernel
    board = (id(kernel), window, scope)
    if board in _pending:
        return  # a send at the end of the interval is already due
    loop = asyncio.get_running_loop()
    recent = loop.time() - _sent.get(board, -interval) < interval
    try:  # the first change of an interval, across processes, is sent at once
        first = not recent and await plugin.cache.incr(f"tick:{window}:{scope}", ttl=interval) == 1
    except ServiceUnavailable:
        first = True
    if first:
        _sent[board] = loop.time()
        await _send(window, scope)
    else:
        _pending.add(board)

        async def later() -> None:
            await asyncio.sleep(interval)
            _pending.discard(board)
            _sent[board] = loop.time()
            kernel.activate()
            try:
                await _send(window, scope)
            except Exception:  # the kernel stopped meanwhile, say; the next change sends
                log.exception("gamification: leaderboard message not sent")

        _tasks.add(task := loop.create_task(later()))
        task.add_done_callback(_tasks.discard)


async def _send(window: Window, scope: str) -> None:
    try:
        top, _, _ = await read(
            window, scope, None, plugin.settings.leaderboard_size, 0, settle=False
        )
    except ServiceUnavailable:
        return
    await plugin.kernel.hub.publish(
        topic(window, scope),
        {
            "window": window,
            "scope": scope,
            "period": period(window, datetime.now(UTC)),
            "top": [{"rank": s.rank, "user_id": s.user_id, "points": s.points} for s in top],
        },
    )
