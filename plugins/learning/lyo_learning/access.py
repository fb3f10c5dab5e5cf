"""Who may do what. Permissions are declared through the ``permissions`` hook; the auth
plugin maps roles to them (admin holds ``*``, which grants all of them): by default
instructors write courses and learners enroll."""

from __future__ import annotations

from kernel import Forbidden, Identity, Permission

from .models import Course, CourseStatus

#: Create courses, and edit and archive one's own with their lessons.
WRITE = "learning:write"
#: Edit and archive any course, not only one's own (admins, through ``*``).
MANAGE = "learning:manage"
#: Enroll, unenroll, record lesson progress and list one's courses.
ENROLL = "learning:enroll"

PERMISSIONS = {
    WRITE: Permission(
        "Create courses; edit and archive your own courses and their lessons.",
        default_roles=("instructor",),
    ),
    MANAGE: "Edit and archive any course and its lessons, and see every draft.",
    ENROLL: Permission(
        "Enroll in published courses and record your lesson progress.",
        default_roles=("learner",),
    ),
}


def can_edit(identity: Identity, course: Course) -> bool:
    if identity.has(MANAGE):
        return True
    return identity.has(WRITE) and identity.id is not None and course.author_id == identity.id


def can_see(identity: Identity, course: Course) -> bool:
    """Drafts are for their author and managers; published and archived courses (still
    readable by the learners enrolled in them) for everybody."""
    return course.status != CourseStatus.DRAFT or can_edit(identity, course)


def check_can_edit(identity: Identity, course: Course) -> None:
    """403 unless ``identity`` may edit ``course`` (the route already required WRITE)."""
    if not can_edit(identity, course):
        raise Forbidden("Only the course's author or a manager may change it.", permission=MANAGE)
