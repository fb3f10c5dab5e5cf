"""The ``ai`` plugin's hooks: course generation with Gemma 3 as a task.

``POST /api/ai/courses`` queues ``ai:generate_course`` (:mod:`.tasks`), which loads the
model in the worker (:mod:`.model`, lazily: no process imports torch at start-up),
generates the course (:mod:`.generation`) and saves it through ``lyo_learning.api``.
"""

from __future__ import annotations

from collections.abc import Iterable

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import HealthCheck, Kernel, Manifest, Permission, TaskSpec, hookimpl

from . import privacy, workers
from .cli import evaluate, info, prepare
from .routes import GENERATE, bp
from .settings import NAME, AiSettings
from .tasks import generate_course

__version__ = "0.1.0"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Course generation with Gemma 3, as a task with live progress.",
        requires={"learning": ">=0.1"},
        kernel=">=0.1,<0.2",
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return AiSettings


@hookimpl
def models() -> list[str]:
    return ["lyo_ai.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def tasks() -> list[TaskSpec]:
    return [generate_course]


@hookimpl
def permissions() -> dict[str, Permission]:
    return {
        GENERATE: Permission(
            "Generate courses with the language model.", default_roles=("instructor",)
        )
    }


@hookimpl
async def startup(kernel: Kernel) -> None:
    await workers.start()


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    await workers.stop()


@hookimpl
def health_checks(kernel: Kernel) -> list[HealthCheck]:
    async def model() -> str | None:
        return await workers.reason()

    return [HealthCheck("model", model, required=False)]


@hookimpl
def cli_commands() -> Iterable[click.Command]:
    return [prepare, info, evaluate]


@hookimpl
async def export_user(user_id: str) -> dict[str, object] | None:
    return await privacy.export_user(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await privacy.erase_user(user_id)
