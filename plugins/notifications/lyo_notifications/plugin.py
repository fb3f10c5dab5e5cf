"""The ``notifications`` plugin's manifest and hooks (each returns what the modules
beside it define). See the README for routes, settings and the events it consumes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import Handler, Kernel, Manifest, Permission, TaskSpec, hookimpl

from . import push
from .cli import COMMANDS
from .events import HANDLERS
from .routes import READ, SEND, bp
from .settings import NAME, NotificationsSettings
from .tasks import TASKS

__version__ = "0.1.0"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Email, push and an in-app inbox, with preferences.",
        requires={"auth": ">=0.1"},
        kernel=">=0.1,<0.2",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return NotificationsSettings


@hookimpl
def models() -> list[str]:
    return ["lyo_notifications.models"]


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
    return {
        READ: Permission(
            "Read my notifications; manage my devices and preferences.",
            default_roles=("learner", "instructor", "moderator"),
        ),
        SEND: Permission("Send notifications to other users."),
    }


@hookimpl
def cli_commands() -> list[click.Command]:
    return COMMANDS


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    await push.close()


@hookimpl
async def export_user(user_id: str) -> dict[str, Any] | None:
    from .models import Address, Delivery, Device, Notification, Preference

    data: dict[str, Any] = {
        "notifications": await Notification.filter(user_id=user_id)
        .order_by("created_at")
        .values("id", "category", "kind", "title", "body", "data", "read_at", "created_at"),
        "devices": await Device.filter(user_id=user_id).values(
            "id", "platform", "app_version", "locale", "created_at"
        ),
        "preferences": await Preference.filter(user_id=user_id).values(
            "channels", "quiet_start", "quiet_end", "digest"
        ),
        "email": await Address.filter(user_id=user_id).values("email", "disabled_reason"),
        "deliveries": await Delivery.filter(user_id=user_id)
        .order_by("created_at")
        .values("id", "channel", "category", "kind", "status", "created_at"),
    }
    return data if any(data.values()) else None


@hookimpl
async def erase_user(user_id: str) -> None:
    from .delivery import forget_user

    await forget_user(user_id)
