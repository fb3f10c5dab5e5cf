"""The 202 answer of a route that queued a task: :class:`Accepted` and :func:`accepted`.

::

    @bp.post("/countdowns")
    @validate_response(kernel.Accepted, 202)
    async def start() -> tuple[kernel.Accepted, int]:
        run = await plugin.kernel.tasks.enqueue(countdown, owner=kernel.current_identity())
        return kernel.accepted(run), 202
"""

from __future__ import annotations

import uuid
from typing import Protocol

from pydantic import BaseModel


class _Run(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


class Accepted(BaseModel):
    """A task was queued: follow it at ``status_url`` (``GET /api/tasks/{id}``) or on
    websocket ``topic`` (``task:{id}``), as the identity that started it."""

    task_id: uuid.UUID
    status_url: str
    topic: str


def accepted(run: _Run) -> Accepted:
    """The :class:`Accepted` answer for ``run`` (what ``kernel.tasks.enqueue`` returned)."""
    return Accepted(task_id=run.id, status_url=f"/api/tasks/{run.id}", topic=f"task:{run.id}")
