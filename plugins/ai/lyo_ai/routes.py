"""``POST /api/ai/courses``: queue a course generation."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from quart import Blueprint
from quart_schema import validate_request, validate_response

from kernel import (
    Accepted,
    ServiceUnavailable,
    TooManyRequests,
    accepted,
    count_task_runs,
    current_identity,
    problem_responses,
    require,
    transaction,
)

from . import workers
from .schemas import CourseRequestIn
from .settings import NAME, AiSettings, plugin
from .tasks import generate_course

GENERATE = "ai:generate"
bp = Blueprint(NAME, __name__)


async def check_limits(user_id: str, settings: AiSettings) -> None:
    """429 when the user has used the day's quota (days are UTC). How many generations
    a user may have queued or running at once is the kernel's per-owner task limit
    (``max_per_owner`` of ``ai:generate_course``; ``LYO_TASK_LIMITS`` overrides it),
    checked when the run is enqueued."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = await count_task_runs(generate_course.name, owner=user_id, since=midnight)
    if today >= settings.daily_quota_per_user:
        tomorrow = midnight + timedelta(days=1)
        raise TooManyRequests(
            f"You have used today's quota of {settings.daily_quota_per_user} course "
            "generations; it resets at 00:00 UTC.",
            retry_after=max(1, int((tomorrow - now).total_seconds())),
        )


_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


@contextlib.asynccontextmanager
async def user_turn(user_id: str) -> AsyncIterator[None]:
    """One generation request per user at a time, in a transaction: its daily quota is
    counted with every earlier request's run in place, so concurrent requests cannot
    both pass the check. Across processes a PostgreSQL advisory lock held until the
    transaction ends; on SQLite (development, one process) a lock in this process."""
    lock = _turns.get(user_id)
    if lock is None:
        lock = _turns[user_id] = asyncio.Lock()
    async with lock, transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query(
                # two-key form: its own key space, apart from single-key locks
                "SELECT pg_advisory_xact_lock(hashtext('lyo-ai'), hashtext($1))",
                [user_id],
            )
        yield


@bp.post("/courses")
@require(GENERATE)
@problem_responses(429, 503)
@validate_request(CourseRequestIn)
@validate_response(Accepted, 202)
async def request_course(data: CourseRequestIn) -> tuple[Accepted, int]:
    """Queue the generation of a course; follow it at ``status_url`` or on websocket
    ``topic``. 429 over the user's limits, 503 while the model is unavailable."""
    reason = await workers.reason()
    if reason:
        raise ServiceUnavailable(f"Course generation is unavailable: {reason}")
    identity = current_identity()
    assert identity.id is not None, "a permitted identity without an id"
    async with user_turn(identity.id):  # the message leaves when this commits
        await check_limits(identity.id, plugin.settings)
        run = await plugin.kernel.tasks.enqueue(
            generate_course, owner=identity, **data.model_dump()
        )
    return accepted(run), 202
