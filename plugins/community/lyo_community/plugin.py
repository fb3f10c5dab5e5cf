"""The ``community`` plugin's manifest and hooks; each hook returns what the modules
next to it define. See README.md for routes, settings, events and permissions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import Handler, Identity, Kernel, Manifest, Permission, TaskSpec, hookimpl

from . import access, cli, privacy
from .routes import bp
from .settings import NAME, CommunitySettings
from .tasks import flush_views


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version="0.1.0",
        kernel=">=0.1,<0.2",
        description="Discussions, threaded replies, reactions, reports, moderation, search.",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return CommunitySettings


@hookimpl
def permissions() -> dict[str, str | Permission]:
    return {
        access.POST: Permission("Start discussions and reply.", default_roles=("learner",)),
        access.REACT: Permission("React to posts.", default_roles=("learner",)),
        access.REPORT: Permission("Report posts to moderators.", default_roles=("learner",)),
        access.MODERATE: Permission(
            "Hide, lock, pin, move and delete posts; decide reports; manage categories.",
            default_roles=("moderator",),
        ),
    }


@hookimpl
def models() -> list[str]:
    return ["lyo_community.models"]


@hookimpl
def tasks() -> list[TaskSpec]:
    return [flush_views]


@hookimpl
def event_handlers() -> list[Handler]:
    return []


@hookimpl
async def authorize_topic(identity: Identity, topic: str) -> bool | None:
    """``community:discussion:{id}``: whoever may read the discussion."""
    prefix = f"{NAME}:discussion:"
    if not topic.startswith(f"{NAME}:"):
        return None
    if not topic.startswith(prefix):
        return False
    from uuid import UUID

    from kernel import NotFound

    try:
        await access.discussion_for(UUID(topic[len(prefix) :]), identity)
    except (ValueError, NotFound):
        return False
    return True


@hookimpl
def blueprints(kernel: Kernel) -> Iterable[Blueprint]:
    return [bp]


@hookimpl
def startup(kernel: Kernel) -> None:
    access.open_limits(kernel)


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    await access.close_limits()


@hookimpl
def cli_commands() -> list[click.Command]:
    return list(cli.COMMANDS)


@hookimpl
async def export_user(user_id: str) -> Mapping[str, Any] | None:
    return await privacy.export(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await privacy.erase(user_id)
