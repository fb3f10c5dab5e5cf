"""The kernel's own routes: health, metrics and the plugin list."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, current_app
from quart_schema import hide, validate_querystring, validate_response

from kernel.data.pagination import CursorPage, CursorQuery, paginate_cursor
from kernel.identity import OPERATE, current_identity, require
from kernel.kernel import Kernel
from kernel.metrics import render
from kernel.plugins.loading import PluginState
from kernel.tasks import own_run, owned_runs, snapshot
from kernel.web.problems import problem_responses

blueprint = Blueprint("kernel", __name__)


def _kernel() -> Kernel:
    return current_app.extensions["lyo"]  # type: ignore[no-any-return]


class Live(BaseModel):
    status: str


class Check(BaseModel):
    name: str
    status: str
    required: bool
    latency_ms: float
    detail: str | None = None


class Ready(BaseModel):
    status: str
    checks: list[Check]


class Summary(BaseModel):
    status: str
    version: str
    env: str
    plugins: dict[str, str]


class CircuitState(BaseModel):
    name: str
    state: str
    failures: int
    retry_after: float
    last_error: str | None


class PluginInfo(BaseModel):
    name: str
    version: str
    state: str
    degraded: str | None
    error: str | None
    required: bool
    origin: str
    requires: dict[str, str]
    url_prefixes: list[str]
    hooks: list[str]
    routes: list[str]
    tasks: list[str]
    event_handlers: list[str]
    circuit_breakers: list[CircuitState]


class PluginList(BaseModel):
    kernel: str
    plugins: list[PluginInfo]


@blueprint.get("/health/live")
@validate_response(Live)
async def live() -> Live:
    """The process is up."""
    return Live(status="ok")


@blueprint.get("/health/ready")
@validate_response(Ready, 200)
@validate_response(Ready, 503)
async def ready() -> tuple[Ready, int]:
    """Every required check passes: database, services, each plugin's checks."""
    ok, checks = await _kernel().readiness()
    status = "ok" if ok else "failing"
    if ok and any(c["status"] != "ok" for c in checks):
        status = "degraded"
    return Ready(status=status, checks=[Check(**c) for c in checks]), 200 if ok else 503


@blueprint.get("/health")
@validate_response(Summary)
async def summary() -> Summary:
    """Version, environment and each plugin's state."""
    kernel = _kernel()
    plugins = {p.name: "degraded" if p.degraded else p.state for p in kernel.plugins.values()}
    failing = any(s in (PluginState.FAILED, PluginState.SKIPPED) for s in plugins.values())
    status = "failing" if failing else "degraded" if "degraded" in plugins.values() else "ok"
    return Summary(status=status, version=kernel.version, env=kernel.settings.env, plugins=plugins)


def _operators_only(kernel: Kernel) -> None:
    """In staging and production, only callers granted ``kernel:operate`` (or sending
    ``LYO_METRICS_TOKEN``) see what the server runs; elsewhere anyone does."""
    if kernel.settings.is_production_like:
        current_identity().require(OPERATE)


@blueprint.get("/-/plugins")
@validate_response(PluginList)
@problem_responses(401, 403)
async def plugins() -> PluginList:
    """Each plugin: version, state, error, hooks, routes and circuit breakers (in
    staging and production: with permission ``kernel:operate`` or the metrics token)."""
    kernel = _kernel()
    _operators_only(kernel)
    items: list[Any] = kernel.describe_plugins()
    return PluginList(kernel=kernel.version, plugins=[PluginInfo(**item) for item in items])


class TaskStatus(BaseModel):
    """A task run as its owner sees it."""

    id: str
    name: str
    kind: str
    status: str
    percent: float
    message: str | None
    progress: dict[str, Any] | None
    result: Any = None
    problem: dict[str, Any] | None
    attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class TaskQuery(CursorQuery):
    """Filters of ``GET /api/tasks``: the task's name (``ai:generate_course``), its status."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None


@blueprint.get("/api/tasks")
@require()
@validate_querystring(TaskQuery)
@validate_response(CursorPage[TaskStatus])
async def task_list(query_args: TaskQuery) -> CursorPage[TaskStatus]:
    """Your task runs, newest first (never anyone else's), by ``name`` and ``status``,
    a page at a time: pass ``next_cursor`` back as ``cursor`` for the next one."""
    identity = current_identity()
    assert identity.id is not None, "a signed-in identity without an id"
    runs = owned_runs(identity.id, name=query_args.name, status=query_args.status)
    return await paginate_cursor(runs, query_args, lambda run: TaskStatus(**snapshot(run)))


@blueprint.get("/api/tasks/<uuid:task_id>")
@validate_response(TaskStatus)
async def task_status(task_id: UUID) -> TaskStatus:
    """A task's status, progress and result (the polling fallback of ``task:{id}``)."""
    return TaskStatus(**snapshot(await own_run(task_id, current_identity())))


@blueprint.post("/api/tasks/<uuid:task_id>/cancel")
@validate_response(TaskStatus, 202)
async def task_cancel(task_id: UUID) -> tuple[TaskStatus, int]:
    """Ask the task to stop; it stops at its next progress report or check."""
    await own_run(task_id, current_identity())
    return TaskStatus(**snapshot(await _kernel().tasks.cancel(task_id))), 202


@blueprint.get("/metrics")
@hide
async def metrics() -> Response:
    """Prometheus text exposition (in staging and production: with permission
    ``kernel:operate`` or the metrics token)."""
    _operators_only(_kernel())
    body, content_type = render()
    return Response(body, content_type=content_type)
