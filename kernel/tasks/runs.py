"""Reading runs: what clients see of a run, and who may see it.

``GET /api/tasks/{id}`` and websocket topic ``task:{id}`` answer with :func:`snapshot`
of the run, to the identity that started it (:func:`own_run`); ``GET /api/tasks`` lists
the caller's own runs (:func:`owned_runs`).
"""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.queryset import QuerySet

from kernel.data.models import TaskRun
from kernel.errors import NotFound
from kernel.identity import Identity

#: A run's columns that clients see, in this order.
SNAPSHOT = (
    *("id", "name", "kind", "status", "percent", "message", "progress", "result", "problem"),
    *("attempts", "created_at", "started_at", "finished_at"),
)
#: Those of them stored as JSON.
JSON_COLUMNS = frozenset({"progress", "result", "problem"})


async def own_run(task_id: uuid.UUID | str, identity: Identity) -> TaskRun:
    """The run ``task_id`` if ``identity`` started it (or may do anything); another
    owner's run is as good as missing: :class:`kernel.NotFound`."""
    try:
        run = await TaskRun.get_or_none(id=uuid.UUID(str(task_id)))
    except ValueError:
        run = None
    if run is None or not (identity.has("*") or (run.owner_id and run.owner_id == identity.id)):
        raise NotFound("No such task.")
    return run


def owned_runs(
    owner_id: str, *, name: str | None = None, status: str | None = None
) -> QuerySet[TaskRun]:
    """The runs ``owner_id`` started (never anyone else's, whatever their permissions),
    of task ``name`` and in ``status`` when given."""
    runs = TaskRun.filter(owner_id=owner_id)
    if name is not None:
        runs = runs.filter(name=name)
    if status is not None:
        runs = runs.filter(status=status)
    return runs


async def task_topic(identity: Identity, topic: str) -> dict[str, Any]:
    """Authorizes websocket topic ``task:{id}`` for its owner; the snapshot is the
    current status, so a task that finishes fast is never missed."""
    return snapshot(await own_run(topic.removeprefix("task:"), identity))


def snapshot(run: TaskRun) -> dict[str, Any]:
    """What clients see of a run (``GET /api/tasks/{id}``, websocket snapshots)."""
    return snapshot_of({name: getattr(run, name) for name in SNAPSHOT})


def snapshot_of(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`snapshot` of a run's :data:`SNAPSHOT` columns (a row read without the ORM),
    made JSON-ready in place."""
    for name in ("created_at", "started_at", "finished_at"):
        if values[name] is not None:
            values[name] = values[name].isoformat()
    values["id"] = str(values["id"])
    return values
