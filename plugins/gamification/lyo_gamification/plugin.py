"""The ``gamification`` plugin's manifest and hooks; the work is in the modules named
below (see ``README.md``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import Handler, Identity, Kernel, Manifest, Permission, TaskSpec, hookimpl

from . import boards, cli, privacy
from .events import HANDLERS
from .routes import GRANT, bp
from .rules import RuleSet, install
from .settings import NAME, GamificationSettings
from .tasks import rebuild


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version="0.1.0",
        kernel=">=0.1,<0.2",
        description="Points, achievements, streaks and leaderboards, driven by events.",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return GamificationSettings


@hookimpl
def permissions() -> dict[str, str | Permission]:
    return {GRANT: Permission("Grant or revoke points with a reason.", default_roles=("admin",))}


@hookimpl
def models() -> list[str]:
    return ["lyo_gamification.models"]


@hookimpl
def tasks() -> list[TaskSpec]:
    return [rebuild]


@hookimpl
def event_handlers() -> list[Handler]:
    return HANDLERS


@hookimpl
def blueprints(kernel: Kernel) -> Iterable[Blueprint]:
    return [bp]


@hookimpl
def startup(kernel: Kernel) -> None:
    """Load and validate the rules (a bad rules file stops the plugin, naming the rule)."""
    install(RuleSet.load(kernel.settings_for(NAME).rules_file))


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    """Board increments still queued go out before the connections close."""
    await boards.close()


@hookimpl
def authorize_topic(identity: Identity, topic: str) -> bool | None:
    """``gamification:leaderboard:{window}:{scope}``: any signed-in user."""
    if not topic.startswith(f"{NAME}:"):
        return None
    return identity.is_authenticated and topic.startswith(f"{NAME}:leaderboard:")


@hookimpl
def cli_commands() -> list[click.Command]:
    return cli.COMMANDS


@hookimpl
async def export_user(user_id: str) -> dict[str, Any] | None:
    return await privacy.export(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await privacy.erase(user_id)
