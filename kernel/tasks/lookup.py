"""Reading task runs, for plugins: :func:`task_run` and :func:`count_task_runs`.

A run's row is the kernel's (``kernel_task_run``); plugins read it through these and
get a :class:`TaskRunInfo`, a frozen snapshot, never the ORM model::

    run = await kernel.task_run(task_id)
    if run is not None and run.status == "succeeded": ...
    today = await kernel.count_task_runs("ai:generate_course", owner=user_id, since=midnight)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.data.models import TaskRun


@dataclass(frozen=True)
class TaskRunInfo:
    """What a plugin may know of a run: who started it, its status, progress and outcome."""

    id: uuid.UUID
    name: str
    owner_id: str | None
    status: str  # queued, running, succeeded, failed or cancelled
    percent: float
    message: str | None
    progress: Any
    result: Any
    problem: Any
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}


async def task_run(task_id: uuid.UUID | str) -> TaskRunInfo | None:
    """The run ``task_id`` (``None``: no such run, or not a run id)."""
    try:
        run = await TaskRun.get_or_none(id=uuid.UUID(str(task_id)))
    except ValueError:
        return None
    if run is None:
        return None
    return TaskRunInfo(
        id=run.id,
        name=run.name,
        owner_id=run.owner_id,
        status=run.status,
        percent=run.percent,
        message=run.message,
        progress=run.progress,
        result=run.result,
        problem=run.problem,
        attempts=run.attempts,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


async def count_task_runs(
    name: str, *, owner: str | None = None, since: datetime | None = None
) -> int:
    """How many runs of task ``name`` there are (of ``owner``'s identity id, created at or
    after ``since``, when given), whatever their status: for quotas."""
    runs = TaskRun.filter(name=name)
    if owner is not None:
        runs = runs.filter(owner_id=owner)
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    return await runs.count()
