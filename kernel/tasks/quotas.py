"""Per-owner limits on task runs: how many runs of one task an owner may have queued
or running at once, so that one user's burst cannot fill the shared queue.

A task declares its limit (``@task("ai:generate_course", max_per_owner=1)``) and
``LYO_TASK_LIMITS`` (JSON, ``{"ai:generate_course": 2}``) overrides it per task name.
:meth:`kernel.tasks.Tasks.enqueue` applies it to runs with an owner; over the limit it
raises :class:`kernel.TooManyRequests` (a 429 problem). Routes that enqueue a limited
task declare ``@problem_responses(429)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from kernel.data.db import transaction
from kernel.data.models import TaskRun
from kernel.errors import TooManyRequests

#: Seconds a client told "too many" is asked to wait before trying again.
RETRY_AFTER = 5


@contextlib.asynccontextmanager
async def owner_slot(name: str, owner_id: str, limit: int) -> AsyncIterator[None]:
    """Enter when ``owner_id`` has fewer than ``limit`` runs of task ``name`` queued or
    running; the run recorded inside the block counts for the next caller.

    Race-safe: the count and the insert share a transaction, and on PostgreSQL a
    transaction-level advisory lock per (task, owner) makes concurrent enqueues of the
    same pair (in any process) take turns, so they cannot all pass the count together.
    Other owners and other tasks never wait on it. (SQLite, development only, writes one
    transaction at a time anyway.)"""
    async with transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query(
                # the two-key form: a key space of its own, apart from single-key locks
                "SELECT pg_advisory_xact_lock(hashtext('lyo-task-limit'), hashtext($1))",
                [f"{name}|{owner_id}"],
            )
        active = await TaskRun.filter(
            name=name, owner_id=owner_id, status__in=("queued", "running")
        ).count()
        if active >= limit:
            raise TooManyRequests(
                f"You have {active} run(s) of {name} in progress (queued or running); at "
                f"most {limit} at a time. Wait for one to finish.",
                retry_after=RETRY_AFTER,
            )
        yield
