"""The events this plugin publishes, through the kernel's outbox."""

from __future__ import annotations

from uuid import UUID

from kernel import Event


class CourseGenerated(Event):
    """A generated course was saved (as a draft owned by the requester)."""

    type = "ai.course_generated.v1"
    course_id: UUID
    task_id: UUID
    owner_id: str
    topic: str
    lesson_count: int
    model: str
    tokens: int
