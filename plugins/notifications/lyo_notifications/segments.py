"""Who a message to a segment reaches: the active accounts holding a role (auth's
``api``), or the learners enrolled in a course (learning's ``api``, when that plugin is
installed and running; this plugin does not require it)."""

from __future__ import annotations

from uuid import UUID

from lyo_auth.api import user_ids_with_role

from kernel import KernelError, ValidationFailed

from .settings import plugin


async def enrolled(course_id: UUID | str) -> list[str]:
    """The course's learners; :class:`LookupError` without the learning plugin or for
    an unknown course."""
    loaded = plugin.kernel.plugins.get("learning")
    if loaded is None or loaded.state != "active":
        raise LookupError("The learning plugin is not running: no course segments.")
    try:
        from lyo_learning.api import enrolled_user_ids  # type: ignore[import-not-found]
    except ImportError:
        raise LookupError("The learning plugin is not installed: no course segments.") from None
    try:
        return list(await enrolled_user_ids(UUID(str(course_id))))
    except (KernelError, ValueError):
        raise LookupError("No such course.") from None


async def members(*, role: str | None = None, course_id: UUID | str | None = None) -> list[str]:
    """The users of the segment (one of ``role`` and ``course_id``); a bad one is a 422
    naming its field."""
    if role is not None:
        return await user_ids_with_role(role)  # ValidationFailed naming "role"
    try:
        return await enrolled(str(course_id))
    except LookupError as missing:
        raise ValidationFailed.field("course_id", str(missing)) from None
