"""The ``kernel_task_run`` table: every statement of a run's life, and the batching
that lets concurrent runs share them (:mod:`kernel.data.batch`).

On PostgreSQL the statements of a task's life are plain SQL on the ORM's connection
(the current transaction's inside one): a Tortoise queryset costs several times the
statement it sends, and a task makes two or three of them. SQLite (development) keeps
the ORM.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from tortoise import BaseDBAsyncClient
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import F, Q

from kernel.data.batch import Batch
from kernel.data.db import orm_errors, transaction
from kernel.data.models import TaskRun
from kernel.tasks.runs import JSON_COLUMNS, SNAPSHOT, snapshot, snapshot_of
from kernel.tasks.spec import FINISHED

log = structlog.get_logger("lyo.tasks")

_TEXT = ("name", "kind", "queue", "owner_id", "request_id")
_INSERT = (
    "INSERT INTO kernel_task_run (id, name, kind, queue, owner_id, request_id, args, status, "
    "percent, attempts, cancel_requested, created_at, updated_at) "
    "SELECT *, 'queued', 0, 0, false, $8::timestamptz, $8::timestamptz FROM unnest($1::uuid[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])"
)
_SENT = "UPDATE kernel_task_run SET sent_at = $2 WHERE id = ANY($1::uuid[]) AND sent_at IS NULL"
# the same for sends recorded late: a run a worker has taken since needs no record
_ACCEPTED = _SENT + " AND status = 'queued'"
#: Seconds an accepted send waits to be recorded, with the others of that time: runs
#: that workers take meanwhile are left alone (no row version, no index entries), so a
#: queue that keeps up records nothing. Far under the reaper's grace (5 s).
SENT_DELAY = 1.0
#: An accepted send not on its way to the database this many seconds after it was
#: accepted (a stalled loop, a slow statement before it) is not recorded at all: the
#: reaper sends its run again if it is still queued, which the lease makes harmless.
#: So a late record lands within about this long of its acceptance or never, which
#: the reaper's later passes over a Redis data loss rely on.
SENT_LATEST = 2 * SENT_DELAY
# queued runs whose message never left, oldest first, each taken by one worker
_REAP = (
    "SELECT id, name, args::text AS args FROM kernel_task_run WHERE status = 'queued' "
    "AND sent_at IS NULL AND args IS NOT NULL AND updated_at < $1 "
    "ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
# leases and finishes of a worker's concurrent runs in one statement; a run being
# finished is never leased in the same one (an UPDATE may not touch a row twice)
_ROWS = (
    "WITH leased AS (UPDATE kernel_task_run SET status = 'running', lease_until = $2, "
    "started_at = $3, updated_at = $3, attempts = attempts + 1 WHERE id = ANY($1::uuid[]) "
    "AND id <> ALL($4::uuid[]) AND status NOT IN ('succeeded', 'failed', 'cancelled') "
    "AND (lease_until IS NULL OR lease_until < $3) RETURNING id::text), "
    # only what is given changes: a success keeps the last progress message
    "finished AS (UPDATE kernel_task_run AS r SET status = v.status, finished_at = $3, "
    "updated_at = $3, lease_until = NULL, result = COALESCE(v.result, r.result), "
    "problem = COALESCE(v.problem, r.problem), percent = COALESCE(v.percent, r.percent), "
    "message = COALESCE(v.message, r.message) "
    "FROM unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::float8[], $9::text[]) "
    "AS v(id, status, result, problem, percent, message) WHERE r.id = v.id "
    f"RETURNING {', '.join('r.' + name for name in SNAPSHOT)}) "
    # one row per finished run (at least one row), each with all the leased ids
    "SELECT (SELECT array_agg(id) FROM leased) AS leased, f.* "
    "FROM (SELECT) AS one LEFT JOIN finished AS f ON true"
)
_updates: dict[tuple[tuple[str, ...], bool, bool], str] = {}


class RunStore:
    """The run rows of one process: inserts shared by concurrent enqueues, accepted
    sends recorded together, a worker's leases and finishes in one statement a round."""

    def __init__(self, lease: float) -> None:
        #: Seconds a lease lasts (renewed by the worker every third of it).
        self.lease = lease
        # PostgreSQL: concurrent runs share their statements (see kernel.data.batch)
        self._inserts = Batch(_insert_many)
        # accepted sends are recorded together, a second later (not awaited by the sender)
        self._sends: Batch[tuple[uuid.UUID, datetime], None] = Batch(
            self._mark_sent, singly=False, delay=SENT_DELAY
        )
        #: A worker's leases and finishes: one statement per round.
        self.rows: Batch[tuple[str, Any], Any] = Batch(self._write_rows, linger=2)

    # -- queued runs ---------------------------------------------------------------------

    async def insert(self, runs: list[dict[str, Any]]) -> list[TaskRun]:
        """Record queued runs: in the current transaction if there is one, else in a
        statement shared with concurrent enqueues."""
        db = postgres()
        if db is None or any(  # too long for its column: the ORM says so, to this caller
            len(values[name] or "") > TaskRun._meta.fields_map[name].max_length  # type: ignore[attr-defined]
            for values in runs
            for name in _TEXT
        ):
            if len(runs) == 1:
                return [await TaskRun.create(**runs[0])]
            async with transaction():  # all or none, as the shared INSERT
                return [await TaskRun.create(**values) for values in runs]
        rows = [
            (*(values[name] for name in ("id", *_TEXT)), _jsonb(values.get("args")))
            for values in runs
        ]
        if isinstance(db, TransactionalDBClient):
            nows = await _insert_many(rows, db)  # leaves with the caller's commit
        elif len(rows) == 1:
            nows = [await self._inserts(rows[0])]
        else:
            nows = await _insert_many(rows)
        return [
            TaskRun.construct(
                _saved_in_db=True,
                **values,
                status="queued",
                percent=0.0,
                attempts=0,
                cancel_requested=False,
                created_at=now,
                updated_at=now,
            )
            for values, now in zip(runs, nows, strict=True)
        ]

    def sent_soon(self, task_id: uuid.UUID) -> None:
        """Record, within :data:`SENT_DELAY` and with the others of that time, that the
        broker accepted the run's message, unless a worker has taken the run by then
        (not awaited: if it is lost the reaper sends the message again, which the lease
        makes harmless)."""
        self._sends.submit((task_id, _now())).add_done_callback(_marked)

    async def settle(self) -> None:
        """Wait for the accepted sends on their way to be recorded."""
        await self._sends.settle()

    async def _mark_sent(self, sends: list[tuple[uuid.UUID, datetime]]) -> list[None]:
        """Record that the broker accepted these runs' messages, those still queued (one
        statement). The time recorded is the earliest acceptance among them: a Redis
        that lost its data after it makes them sent again (:meth:`forget_sends`); a
        later one could hide a lost message from the reaper."""
        oldest = _now() - timedelta(seconds=SENT_LATEST)
        kept = [(task_id, at) for task_id, at in sends if at > oldest]
        if not kept:
            return [None] * len(sends)
        task_ids = [task_id for task_id, _ in kept]
        accepted = min(at for _, at in kept)
        if postgres() is None:
            await TaskRun.filter(id__in=task_ids, sent_at__isnull=True, status="queued").update(
                sent_at=accepted
            )
        else:
            async with pool().acquire_connection() as connection, orm_errors():
                await connection.execute(_ACCEPTED, task_ids, accepted)
        return [None] * len(sends)

    async def cancel_unsent(self, task_ids: list[str]) -> None:
        """Cancel queued runs whose messages were never accepted."""
        await TaskRun.filter(id__in=task_ids, status="queued", sent_at__isnull=True).update(
            status="cancelled",
            finished_at=_now(),
            updated_at=_now(),
            message="Not sent: the task queue was unavailable.",
        )

    async def request_cancel(self, task_id: uuid.UUID) -> TaskRun:
        """Mark the run's cancellation asked for, cancel it if still queued; the run."""
        await TaskRun.filter(id=task_id).update(cancel_requested=True)
        await TaskRun.filter(id=task_id, status="queued").update(
            status="cancelled", finished_at=_now()
        )
        return await TaskRun.get(id=task_id)

    @contextlib.asynccontextmanager
    async def unsent(
        self, grace: float, limit: int
    ) -> AsyncIterator[tuple[list[tuple[uuid.UUID, str, dict[str, Any]]], list[uuid.UUID]]]:
        """PostgreSQL: queued runs whose message never left (no accepted send for
        ``grace`` seconds), oldest first, as (id, task name, message arguments); locked
        ``FOR UPDATE SKIP LOCKED`` for the block, so one worker sends a given run. The
        ids the block appends to the list it is given are marked sent as it ends, in the
        same transaction."""
        sent: list[uuid.UUID] = []
        async with transaction() as connection, connection.acquire_connection() as raw:
            async with orm_errors():
                rows = await raw.fetch(_REAP, _now() - timedelta(seconds=grace), limit)
            yield [(row["id"], row["name"], orjson.loads(row["args"])) for row in rows], sent
            if sent:
                async with orm_errors():
                    await raw.execute(_SENT, sent, _now())

    async def forget_sends(self, before: datetime) -> int:
        """Mark unsent the runs still queued whose message was accepted before
        ``before`` (PostgreSQL only); how many."""
        if postgres() is None:
            return 0
        return await TaskRun.filter(status="queued", sent_at__lt=before).update(sent_at=None)

    # -- running runs --------------------------------------------------------------------

    async def take_lease(self, task_id: uuid.UUID) -> bool:
        """Lease the run and mark it running in one statement (a kill cannot split the
        attempt count from the lease); ``False`` if it is finished or leased elsewhere."""
        if postgres() is not None:
            return bool(await self.rows(("lease", task_id)))
        now = _now()
        until = now + timedelta(seconds=self.lease)
        return bool(
            await TaskRun.filter(
                Q(id=task_id),
                ~Q(status__in=FINISHED),
                Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            ).update(
                status="running",
                lease_until=until,
                started_at=now,
                updated_at=now,
                attempts=F("attempts") + 1,
            )
        )

    async def renew(self, task_ids: list[uuid.UUID]) -> None:
        """Extend the leases of these runs (those still running), in one statement."""
        await TaskRun.filter(id__in=task_ids, status="running").update(
            lease_until=_now() + timedelta(seconds=self.lease)
        )

    async def finish(self, task_id: uuid.UUID, status: str, values: dict[str, Any]) -> Any:
        """Finish the run with ``status`` and ``values``; its snapshot (``{}`` if it was
        purged meanwhile)."""
        if postgres() is not None:
            return await self.rows(("finish", (task_id, status, values)))
        values = {"status": status, "finished_at": _now(), "lease_until": None, **values}
        return await update(task_id, values, returning=True)

    async def _write_rows(self, items: list[tuple[str, Any]]) -> list[Any]:
        """Leases (answer: taken or not) and finishes (answer: the run's snapshot, ``{}``
        if it was purged) of concurrent runs, in one statement."""
        leases = [task_id for kind, task_id in items if kind == "lease"]
        finishes = [
            (
                task_id,
                status,
                _jsonb(values.get("result")),
                _jsonb(values.get("problem")),
                values.get("percent"),
                values.get("message"),
            )
            for kind, (task_id, status, values) in (i for i in items if i[0] == "finish")
        ]
        now = _now()
        async with pool().acquire_connection() as connection, orm_errors():
            rows = await connection.fetch(
                _ROWS,
                leases,
                now + timedelta(seconds=self.lease),
                now,
                *(_columns(finishes) if finishes else [[]] * 6),
            )
        taken = set(rows[0]["leased"] or ())
        found = {str(row["id"]): _row_snapshot(row) for row in rows if row["id"] is not None}
        answers: list[Any] = []
        for kind, item in items:
            if kind == "lease":  # a run twice in one round (a redelivery) is taken once
                answers.append(str(item) in taken)
                taken.discard(str(item))
            else:
                answers.append(found.get(str(item[0]), {}))
        return answers


def postgres() -> BaseDBAsyncClient | None:
    """The connection for the run table if it is PostgreSQL (a transaction's inside one)."""
    db: BaseDBAsyncClient = TaskRun._meta.db
    return db if db.capabilities.dialect == "postgres" else None


def pool() -> BaseDBAsyncClient:
    """The pooled connection, never the caller's transaction: statements shared between
    tasks run outside any one of them."""
    db: BaseDBAsyncClient = TaskRun._meta.db
    while isinstance(db, TransactionalDBClient):
        db = db._parent  # type: ignore[attr-defined]
    return db


async def update(
    task_id: uuid.UUID, values: dict[str, Any], *, if_running: bool = False, returning: bool = False
) -> dict[str, Any]:
    """Set ``values`` on run ``task_id`` (only while it is running, with ``if_running``);
    with ``returning``, the run's snapshot afterwards, else ``{}``."""
    values = {**values, "updated_at": _now()}
    db = postgres()
    if db is None:
        where = {"status": "running"} if if_running else {}
        await TaskRun.filter(id=task_id, **where).update(**values)
        return snapshot(await TaskRun.get(id=task_id)) if returning else {}
    columns = tuple(values)
    sql = _updates.get((columns, if_running, returning))
    if sql is None:
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, 2))
        sql = f"UPDATE kernel_task_run SET {sets} WHERE id = $1"
        sql += " AND status = 'running'" if if_running else ""
        sql += f" RETURNING {', '.join(SNAPSHOT)}" if returning else ""
        _updates[(columns, if_running, returning)] = sql
    args = [_jsonb(v) if k in JSON_COLUMNS or k == "args" else v for k, v in values.items()]
    async with db.acquire_connection() as connection, orm_errors():
        if not returning:
            await connection.execute(sql, task_id, *args)
            return {}
        row = await connection.fetchrow(sql, task_id, *args)
    return _row_snapshot(row) if row is not None else {}  # None: purged meanwhile


def as_json(value: Any) -> Any:
    """A task result as stored in a JSON column (Tortoise takes a ``str`` for JSON text)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    value = orjson.loads(orjson.dumps(value, default=str))
    return orjson.dumps(value).decode() if isinstance(value, str) else value


async def _insert_many(
    rows: list[tuple[Any, ...]], db: BaseDBAsyncClient | None = None
) -> list[datetime]:
    now = _now()
    async with (db or pool()).acquire_connection() as connection, orm_errors():
        await connection.execute(_INSERT, *_columns(rows), now)
    return [now] * len(rows)


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as columns: the arrays ``unnest`` turns back into rows."""
    return [list(column) for column in zip(*rows, strict=True)]


def _row_snapshot(row: Any) -> dict[str, Any]:
    found = {name: row[name] for name in SNAPSHOT}
    for name in JSON_COLUMNS:
        if found[name] is not None:
            found[name] = orjson.loads(found[name])
    return snapshot_of(found)


def _jsonb(value: Any) -> str | None:
    """A value for a jsonb parameter: JSON text (a ``str`` already is, as for Tortoise)."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _marked(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("accepted send not recorded", error=repr(future.exception()))


def _now() -> datetime:
    return datetime.now(UTC)
