"""The ``feeds`` plugin's manifest and hooks (each returns what the modules beside it
define). See the README for routes, settings and the events it consumes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import Handler, Kernel, Manifest, Permission, TaskSpec, hookimpl

from .cli import COMMANDS
from .events import HANDLERS
from .routes import FOLLOW, READ, bp
from .settings import NAME, FeedsSettings
from .tasks import TASKS

__version__ = "0.1.0"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Activity feeds from events, follows and privacy; discovery by embeddings.",
        kernel=">=0.1,<0.2",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return FeedsSettings


@hookimpl
def models() -> list[str]:
    return ["lyo_feeds.models"]


@hookimpl
def blueprints(kernel: Kernel) -> Iterable[Blueprint]:
    return [bp]


@hookimpl
def tasks() -> Iterable[TaskSpec]:
    return TASKS


@hookimpl
def event_handlers() -> Iterable[Handler]:
    return HANDLERS


@hookimpl
def permissions() -> dict[str, Permission]:
    roles = ("learner", "instructor", "moderator")
    return {
        READ: Permission("Read feeds; choose who sees my activity.", default_roles=roles),
        FOLLOW: Permission("Follow and unfollow users and courses.", default_roles=roles),
    }


@hookimpl
def cli_commands() -> list[click.Command]:
    return COMMANDS


@hookimpl
async def export_user(user_id: str) -> dict[str, Any] | None:
    from .models import Activity, Follow, Privacy, Reaction

    data: dict[str, Any] = {
        "activities": await Activity.filter(actor_id=user_id)
        .order_by("created_at")
        .values(
            "id",
            "verb",
            "object_type",
            "object_id",
            "target_type",
            "target_id",
            "course_id",
            "audience",
            "count",
            "objects",
            "occurred_at",
            "created_at",
        ),
        "follows": await Follow.filter(user_id=user_id)
        .order_by("created_at")
        .values("kind", "target_id", "created_at"),
        "privacy": await Privacy.filter(user_id=user_id).values("visibility", "updated_at"),
        "reactions": await Reaction.filter(user_id=user_id)
        .order_by("created_at")
        .values("target_id", "kind", "course_id", "created_at"),
    }
    return data if any(data.values()) else None


@hookimpl
async def erase_user(user_id: str) -> None:
    from .activity import forget_user

    await forget_user(user_id)
