"""The ``hello`` plugin: every hook a typical plugin implements, in one short module.

Installed with ``pip install ./examples/hello_plugin``, it is found through its
``lyo.plugins`` entry point; nothing in the kernel names it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

import kernel
from kernel import HealthCheck, Kernel, Manifest, current_identity, hookimpl, require

NAME = "hello"
bp = Blueprint(NAME, __name__)


class HelloSettings(BaseModel):
    """Read from ``LYO_HELLO__GREETING`` and ``LYO_HELLO__MAX_NAME_LENGTH``."""

    greeting: str = Field(default="Hello", min_length=1, max_length=40)
    max_name_length: int = Field(default=40, ge=1, le=200)


class Greeting(BaseModel):
    message: str
    starts: int


class GreetQuery(BaseModel):
    excited: bool = False


class GreetRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    excited: bool = False


class State:
    """What the plugin keeps between hooks: the kernel it runs in, lifecycle counts."""

    kernel: Kernel | None = None
    starts = 0
    stops = 0


state = State()


def _settings() -> HelloSettings:
    assert state.kernel is not None, "the hello plugin has not started"
    settings: HelloSettings = state.kernel.settings_for(NAME)
    return settings


def _greet(name: str, excited: bool) -> Greeting:
    settings = _settings()
    if len(name) > settings.max_name_length:
        raise kernel.ValidationFailed.field(
            "name", f"at most {settings.max_name_length} characters"
        )
    message = f"{settings.greeting}, {name}" + ("!" if excited else ".")
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


@hookimpl
def manifest() -> Manifest:
    return Manifest(name=NAME, version="0.1.0", kernel=">=0.1,<0.2", description="Greets people.")


@hookimpl
def settings_model() -> type[BaseModel]:
    return HelloSettings


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def permissions() -> dict[str, str]:
    return {"hello:greet": "Be greeted by name."}


@hookimpl
async def startup(kernel: Kernel) -> None:
    state.kernel = kernel
    state.starts += 1


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    state.stops += 1


@hookimpl
def health_checks(kernel: Kernel) -> list[HealthCheck]:
    return [HealthCheck("greeting", lambda: bool(_settings().greeting))]
