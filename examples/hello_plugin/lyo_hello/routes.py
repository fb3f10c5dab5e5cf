"""The plugin's HTTP API, mounted at ``/api/hello``."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

import kernel
from kernel import Page, PageQuery, atomic, current_identity, require

from . import cheers
from .config import NAME, running_kernel, settings, state
from .models import Cheer
from .tasks import countdown

bp = Blueprint(NAME, __name__)


class Greeting(BaseModel):
    message: str
    starts: int


class GreetQuery(BaseModel):
    excited: bool = False


class GreetRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    excited: bool = False


class CheerRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=128)
    message: str | None = Field(default=None, min_length=1, max_length=200)


class CountdownRequest(BaseModel):
    start: int = Field(default=3, ge=1, le=10)


class Accepted(BaseModel):
    """A task was queued: follow it at ``status_url`` or on websocket ``topic``."""

    task_id: UUID
    status_url: str
    topic: str


def _greet(name: str, excited: bool) -> Greeting:
    limit = settings().max_name_length
    if len(name) > limit:
        raise kernel.ValidationFailed.field("name", f"at most {limit} characters")
    message = f"{settings().greeting}, {name}" + ("!" if excited else ".")
    return Greeting(message=message, starts=state.starts)


@bp.get("/")
@validate_response(Greeting)
async def index() -> Greeting:
    """Greet the world."""
    return _greet("world", excited=False)


@bp.get("/greet/<name>")
@validate_querystring(GreetQuery)
@validate_response(Greeting)
async def greet(name: str, query_args: GreetQuery) -> Greeting:
    """Greet someone by name."""
    return _greet(name, query_args.excited)


@bp.post("/greetings")
@validate_request(GreetRequest)
@validate_response(Greeting, 201)
async def create_greeting(data: GreetRequest) -> tuple[Greeting, int]:
    """Greet from a JSON body."""
    return _greet(data.name, data.excited), 201


@bp.get("/me")
@require("hello:greet")
@validate_response(Greeting)
async def greet_me() -> Greeting:
    """Greet the signed-in caller; needs permission ``hello:greet``."""
    return _greet(current_identity().id or "stranger", excited=True)


@bp.get("/cheers")
@require()
@validate_querystring(PageQuery)
@validate_response(Page[cheers.CheerOut])
async def my_cheers(query_args: PageQuery) -> Page[cheers.CheerOut]:
    """The signed-in caller's cheers, newest first."""
    mine = Cheer.filter(user_id=current_identity().id).order_by("-created_at", "-id")
    return await kernel.paginate(mine, query_args, cheers.out)


@bp.post("/cheers")
@require("hello:cheer")
@validate_request(CheerRequest)
@validate_response(cheers.CheerOut, 201)
@atomic
async def cheer(data: CheerRequest) -> tuple[cheers.CheerOut, int]:
    """Cheer someone; needs permission ``hello:cheer``. They hear it on ``hello:{id}``."""
    message = data.message or f"{settings().cheer}, {data.user_id}!"
    return await cheers.record(data.user_id, message), 201


@bp.post("/countdowns")
@require()
@validate_request(CountdownRequest)
@validate_response(Accepted, 202)
async def start_countdown(data: CountdownRequest) -> tuple[Accepted, int]:
    """Start task ``hello:countdown``; its owner follows it at ``/api/tasks/{id}``."""
    identity = current_identity()
    run = await running_kernel().tasks.enqueue(
        countdown, owner=identity, start=data.start, who=identity.id or "stranger"
    )
    accepted = Accepted(task_id=run.id, status_url=f"/api/tasks/{run.id}", topic=f"task:{run.id}")
    return accepted, 202
