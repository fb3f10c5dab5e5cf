"""The ``learning`` plugin's hooks: manifest, models, routes and permissions.

Courses, lessons, enrollments and lesson progress with completion roll-up, served under
``/api/learning``; events through the kernel's outbox (:mod:`.events`); a public Python
API for other plugins (:mod:`.api`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint

from kernel import Handler, Kernel, Manifest, Permission, hookimpl

from . import privacy
from .access import PERMISSIONS
from .events import HANDLERS
from .routes import bp
from .settings import NAME, LearningSettings

__version__ = "0.1.0"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Courses, lessons, enrollments and progress with completion roll-up.",
        needs=("authenticate",),  # someone authenticates; learning calls no lyo_auth code
        kernel=">=0.1,<0.2",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return LearningSettings


@hookimpl
def models() -> list[str]:
    return ["lyo_learning.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def event_handlers() -> list[Handler]:
    return list(HANDLERS)


@hookimpl
def permissions() -> dict[str, str | Permission]:
    return dict(PERMISSIONS)


@hookimpl
async def export_user(user_id: str) -> dict[str, Any] | None:
    return await privacy.export_user(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await privacy.erase_user(user_id)
