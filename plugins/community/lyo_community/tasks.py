"""Scheduled work: flushing view counters into the database."""

from __future__ import annotations

from kernel import TaskContext, task

from . import views


@task("community:flush_views", queue="low", retries=1, every=60.0, timeout=120)
async def flush_views(ctx: TaskContext) -> dict[str, int]:
    """Move pending view counts (cache counters) into ``view_count``, in batches."""
    return {"flushed": await views.flush()}
