"""Retention: the periodic ``kernel:purge`` task deletes finished task runs, delivered
outbox rows, handled-event marks and dead letters older than ``LYO_RETENTION_DAYS``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kernel.data.models import DeadLetter, HandledEvent, OutboxEvent, TaskRun
from kernel.tasks.context import TaskContext
from kernel.tasks.spec import TaskSpec, task


async def purge(ctx: TaskContext) -> dict[str, int]:
    """Delete finished task runs, delivered outbox rows, handled marks and dead letters
    older than ``LYO_RETENTION_DAYS``; how many of each."""
    cutoff = datetime.now(UTC) - timedelta(days=ctx.kernel.settings.retention_days)
    return {
        "task_runs": await TaskRun.filter(finished_at__lt=cutoff).delete(),
        "outbox": await OutboxEvent.filter(dispatched_at__lt=cutoff).delete(),
        "handled": await HandledEvent.filter(handled_at__lt=cutoff).delete(),
        "dead_letters": await DeadLetter.filter(created_at__lt=cutoff).delete(),
    }


PURGE: TaskSpec = task("kernel:purge", queue="low", kind="maintenance", every=3600)(purge)
