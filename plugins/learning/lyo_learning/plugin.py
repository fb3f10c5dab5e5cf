"""The ``learning`` plugin's hooks: manifest, models, routes and permissions.

Courses, lessons, enrollments and lesson progress with completion roll-up, served under
``/api/learning``; events through the kernel's outbox (:mod:`.events`); a public Python
API for other plugins (:mod:`.api`)."""

from __future__ import annotations

from quart import Blueprint

from kernel import Kernel, Manifest, Permission, hookimpl

from . import __version__
from .access import PERMISSIONS
from .routes import bp

NAME = "learning"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Courses, lessons, enrollments and progress with completion roll-up.",
        requires={"auth": ">=0.1"},
        kernel=">=0.1,<0.2",
    )


@hookimpl
def models() -> list[str]:
    return ["lyo_learning.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def permissions() -> dict[str, str | Permission]:
    return dict(PERMISSIONS)
