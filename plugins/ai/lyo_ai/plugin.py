"""The ``ai`` plugin's hooks: course generation with Gemma 3 as a task.

``POST /api/ai/courses`` queues ``ai:generate_course`` (:mod:`.tasks`), which loads the
model in the worker (:mod:`.runtime`, lazily: no process imports torch at start-up),
generates the course (:mod:`.generation`) and saves it through ``lyo_learning.api``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import HealthCheck, Kernel, Manifest, Permission, TaskSpec, hookimpl

from . import __version__
from .artifacts import Source, problem
from .routes import GENERATE, make_blueprint
from .settings import AiSettings
from .tasks import NAME, QUEUE, RUNNER, State, generate_course


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
    return [make_blueprint(kernel)]


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


_heartbeat: asyncio.Task[None] | None = None


@hookimpl
async def startup(kernel: Kernel) -> None:
    """Where generations run (a worker; in development the API process too): mark the
    plugin degraded when the model cannot be used, found without loading it (a missing
    package, file or library; checksums are checked when it loads), and start the
    heartbeat that tells API processes whether generation is available. API processes
    of a deployment with workers look for nothing: they never need the model runtime."""
    global _heartbeat
    if not kernel.consumes(QUEUE):
        return
    settings: AiSettings = kernel.settings_for(NAME)
    if RUNNER.installed is None:  # tests and benchmarks may bring their own generator
        kernel.set_degraded(NAME, problem(Source.parse(settings.model)))
    await State.beat(kernel)
    _heartbeat = asyncio.create_task(State.beating(kernel), name="lyo-ai-heartbeat")


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _heartbeat
        _heartbeat = None


@hookimpl
def health_checks(kernel: Kernel) -> list[HealthCheck]:
    async def model() -> str | None:
        return await State.reason(kernel)

    return [HealthCheck("model", model, required=False)]


@hookimpl
def cli_commands() -> Iterable[click.Command]:
    from .cli import info, prepare

    return [prepare, info]


@hookimpl
async def export_user(user_id: str) -> dict[str, object] | None:
    """The user's course generations: the topic they asked for, the model, the cost."""
    from .models import Generation

    generations = (
        await Generation.filter(owner_id=user_id)
        .order_by("created_at")
        .values("task_id", "course_id", "topic", "model", "tokens", "seconds", "created_at")
    )
    return {"generations": generations} if generations else None


@hookimpl
async def erase_user(user_id: str) -> None:
    """Delete the user's generation records (the courses are the learning plugin's)."""
    from .models import Generation

    await Generation.filter(owner_id=user_id).delete()
