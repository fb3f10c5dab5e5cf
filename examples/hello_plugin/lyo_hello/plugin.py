"""The ``hello`` plugin: every hook a typical third-party plugin implements.

Installed with ``pip install ./examples/hello_plugin``, it is found through its
``lyo.plugins`` entry point; nothing in the kernel names it, and it uses only the
kernel's public API (``kernel`` and the hooks in ``kernel/plugins/hookspecs.py``).

- ``settings_model``: :class:`HelloSettings`, read from ``LYO_HELLO__*`` (:mod:`.settings`).
- ``permissions``: ``hello:greet`` (``GET /me``) and ``hello:cheer`` (``POST /cheers``).
- ``models``: :class:`lyo_hello.models.Cheer`, migration in ``migrations/hello/``.
- ``tasks``: ``hello:countdown``, started by ``POST /countdowns``.
- ``event_handlers``: ``hello:cheer_lesson`` on ``learning.lesson_completed.v1``.
- ``authorize_topic``: ``hello:{user_id}``, for that user only.
- ``blueprints``, ``startup``/``shutdown``, ``health_checks``, ``cli_commands``.
- ``export_user`` and ``erase_user``: the cheers a user received (personal data).
"""

from __future__ import annotations

from collections.abc import Iterable

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import (
    Handler,
    HealthCheck,
    Identity,
    Kernel,
    Manifest,
    Permission,
    TaskSpec,
    hookimpl,
)

from . import cheers, lifecycle
from .cli import hello
from .events import cheer_lesson
from .routes import bp
from .settings import NAME, HelloSettings, plugin
from .tasks import countdown


@hookimpl
def manifest() -> Manifest:
    return Manifest(name=NAME, version="0.1.0", kernel=">=0.1,<0.2", description="Greets people.")


@hookimpl
def settings_model() -> type[BaseModel]:
    return HelloSettings


@hookimpl
def permissions() -> dict[str, str | Permission]:
    # with the auth plugin, learners get both unless LYO_AUTH__GRANTS says otherwise
    return {
        "hello:greet": Permission("Be greeted by name.", default_roles=("learner",)),
        "hello:cheer": Permission("Cheer other users.", default_roles=("learner",)),
    }


@hookimpl
def models() -> list[str]:
    return ["lyo_hello.models"]


@hookimpl
def tasks() -> list[TaskSpec]:
    return [countdown]


@hookimpl
def event_handlers() -> list[Handler]:
    return [cheer_lesson]


@hookimpl
def authorize_topic(identity: Identity, topic: str) -> bool | None:
    """``hello:{user_id}`` is for that user alone; other topics are not ours to judge."""
    if not topic.startswith(f"{NAME}:"):
        return None
    return identity.is_authenticated and topic == f"{NAME}:{identity.id}"


@hookimpl
def blueprints(kernel: Kernel) -> Iterable[Blueprint]:
    return [bp]


@hookimpl
async def startup(kernel: Kernel) -> None:
    await lifecycle.started()


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    await lifecycle.stopped()


@hookimpl
def health_checks(kernel: Kernel) -> list[HealthCheck]:
    return [HealthCheck("greeting", lambda: bool(plugin.settings.greeting))]


@hookimpl
def cli_commands() -> list[click.Command]:
    return [hello]


@hookimpl
async def export_user(user_id: str) -> dict[str, object] | None:
    """The cheers this user received: personal data, so exported and erased on request."""
    return await cheers.export_user(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await cheers.erase_user(user_id)
