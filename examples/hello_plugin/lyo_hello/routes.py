"""The plugin's HTTP API, mounted at ``/api/hello`` (bodies in :mod:`.schemas`)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

import kernel
from kernel import Page, PageQuery, atomic, current_identity, require

from . import cheers
from .lifecycle import counts
from .models import Cheer
from .schemas import CheerOut, CheerRequest, CountdownRequest, Greeting, GreetQuery, GreetRequest
from .settings import NAME, plugin
from .tasks import countdown

bp = Blueprint(NAME, __name__)


def _greet(name: str, excited: bool) -> Greeting:
    settings = plugin.settings
    limit = settings.max_name_length
    if len(name) > limit:
        raise kernel.ValidationFailed.field("name", f"at most {limit} characters")
    message = f"{settings.greeting}, {name}" + ("!" if excited else ".")
    return Greeting(message=message, starts=counts.starts)


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
@validate_response(Page[CheerOut])
async def my_cheers(query_args: PageQuery) -> Page[CheerOut]:
    """The signed-in caller's cheers, newest first."""
    mine = Cheer.filter(user_id=current_identity().id).order_by("-created_at", "-id")
    return await kernel.paginate(mine, query_args, cheers.out)


@bp.post("/cheers")
@require("hello:cheer")
@validate_request(CheerRequest)
@validate_response(CheerOut, 201)
@atomic
async def cheer(data: CheerRequest) -> tuple[CheerOut, int]:
    """Cheer someone; needs permission ``hello:cheer``. They hear it on ``hello:{id}``."""
    message = data.message or f"{plugin.settings.cheer}, {data.user_id}!"
    return await cheers.record(data.user_id, message), 201


@bp.post("/countdowns")
@require()
@validate_request(CountdownRequest)
@validate_response(kernel.Accepted, 202)
async def start_countdown(data: CountdownRequest) -> tuple[kernel.Accepted, int]:
    """Start task ``hello:countdown``; its owner follows it at ``/api/tasks/{id}``."""
    identity = current_identity()
    run = await plugin.kernel.tasks.enqueue(
        countdown, owner=identity, start=data.start, who=identity.id or "stranger"
    )
    return kernel.accepted(run), 202
