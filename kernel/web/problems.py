"""Every error answer is RFC 9457 ``application/problem+json``, and the OpenAPI
document says so.

quart-schema answers validation errors with 400 and documents only JSON success
bodies; the handlers here turn them into 422 problems listing each field at fault,
and :class:`ProblemOpenAPIProvider` documents the problem responses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
import structlog
from pydantic import BaseModel, Field
from quart import Quart, Response, request
from quart_schema import RequestSchemaValidationError
from quart_schema.openapi import OpenAPIProvider
from tortoise.exceptions import (
    DBConnectionError,
    DoesNotExist,
    IntegrityError,
    OperationalError,
)
from tortoise.exceptions import ValidationError as TortoiseValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Rule

from kernel.data.db import integrity_problem
from kernel.errors import (
    PROBLEM_JSON,
    KernelError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    status_problem,
)
from kernel.identity import REQUIRED_PERMISSION_ATTRIBUTE
from kernel.web.middleware import REQUEST_ID_KEY

log = structlog.get_logger("lyo.errors")

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute set on route functions by :func:`problem_responses`, read by the OpenAPI document.
PROBLEM_RESPONSES_ATTRIBUTE = "_lyo_problem_responses"


def problem_responses(*statuses: int) -> Callable[[F], F]:
    """Declare in the OpenAPI document the problems a route answers besides those the
    kernel declares itself (400/422 for validated input, 401/403 under
    :func:`kernel.require`, 404 for path parameters): ``@problem_responses(409, 429)``
    on a route that raises :class:`kernel.Conflict` and :class:`kernel.TooManyRequests`.
    """

    def decorate(func: F) -> F:
        declared = getattr(func, PROBLEM_RESPONSES_ATTRIBUTE, ())
        setattr(func, PROBLEM_RESPONSES_ATTRIBUTE, (*declared, *statuses))
        return func

    return decorate


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer to the field at fault, e.g. /email.")
    detail: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = {"extra": "allow"}

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldError] | None = None


def problem_response(error: KernelError) -> Response:
    """Answer ``error`` for the current request."""
    body = {
        **error.problem(),
        "instance": request.path,
        "request_id": request.scope.get(REQUEST_ID_KEY, ""),
    }
    return Response(
        orjson.dumps(body), status=error.status, content_type=PROBLEM_JSON, headers=error.headers
    )


def cache_type_adapters() -> None:
    """Make quart-schema reuse pydantic TypeAdapters.

    quart-schema 0.25 builds a new ``TypeAdapter`` for every response it converts
    and every request body it validates (``quart_schema.conversion``); measured here
    that is about 15 % of a trivial route's time. Adapters depend only on the type,
    so the kernel caches them by type. Idempotent.
    """
    import quart_schema.conversion as conversion

    build: Any = getattr(conversion, "TypeAdapter")  # noqa: B009 - not exported, mypy says
    if getattr(build, "_lyo_cached", False):
        return
    cached = functools.lru_cache(maxsize=1024)(build)

    def adapter(type_: Any) -> Any:
        try:
            return cached(type_)
        except TypeError:  # an unhashable type: build it each time, as before
            return build(type_)

    adapter._lyo_cached = True  # type: ignore[attr-defined]
    setattr(conversion, "TypeAdapter", adapter)  # noqa: B010


def register_error_handlers(app: Quart, *, production: bool) -> None:
    @app.errorhandler(KernelError)
    async def kernel_error(error: KernelError) -> Response:
        return problem_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(error: RequestSchemaValidationError) -> Response:
        source = "/query" if "Querystring" in type(error).__name__ else ""
        source = "/headers" if "Headers" in type(error).__name__ else source
        return problem_response(ValidationFailed.from_pydantic(error.validation_error, source))

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.code < 400:
            return error  # redirects from routing stay what they are
        problem = status_problem(error.code, error.description)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            problem.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return problem_response(problem)

    @app.errorhandler(DoesNotExist)
    async def missing(error: DoesNotExist) -> Response:
        # the ORM's text names the model ('Object "User" does not exist'): say what the
        # client asked for instead
        return problem_response(NotFound(f"Nothing was found at {request.path}."))

    @app.errorhandler(IntegrityError)
    async def integrity(error: IntegrityError) -> Response:
        return problem_response(integrity_problem(error))

    @app.errorhandler(TortoiseValidationError)
    async def invalid_record(error: TortoiseValidationError) -> Response:
        field, _, message = str(error).partition(":")
        return problem_response(
            ValidationFailed.field(field.strip(), message.strip() or str(error))
        )

    @app.errorhandler(DBConnectionError)
    @app.errorhandler(OperationalError)
    async def database_error(error: Exception) -> Response:
        # Tortoise wraps asyncpg's data errors (a value out of range) and its syntax or
        # access errors (a bug, a missing migration) in OperationalError too
        cause = type(error.__cause__).__mro__ if error.__cause__ else ()
        names = {cls.__name__ for cls in cause}
        if "DataError" in names:
            # never the driver's text: it describes the database, not the request
            log.info("value refused by the database", error=repr(error))
            return problem_response(
                ValidationFailed([{"pointer": "/", "detail": "A value cannot be stored."}])
            )
        if "SyntaxOrAccessError" in names:
            return await unexpected(error)
        log.error("database error", error=repr(error))
        return problem_response(
            ServiceUnavailable(
                "The database is unavailable; retry shortly.", headers={"Retry-After": "2"}
            )
        )

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        if _database_away(error):
            return await database_error(error)
        if isinstance(error, ValueError) and _raised_in(error, "tortoise"):
            # Tortoise refuses a None for a non-nullable field with a bare ValueError
            match = _NON_NULLABLE.match(str(error))
            if match:
                return problem_response(ValidationFailed.field(match[1], "This field is required."))
        log.exception("unhandled exception", path=request.path, method=request.method)
        detail = (
            "An unexpected error occurred; quote the request_id when reporting it."
            if production
            else f"{type(error).__name__}: {error}"
        )
        return problem_response(status_problem(500, detail))


_NON_NULLABLE = re.compile(r"^(\w+) is non nullable field")


#: asyncpg's errors for a database that is starting, stopping, restarting or gone:
#: connection exceptions (SQLSTATE class 08), operator intervention (57P01..57P03),
#: and its own "connection is closed"/"pool is closing" interface errors.
_AWAY = frozenset(
    {
        "PostgresConnectionError",
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "InterfaceError",
        "TooManyConnectionsError",
    }
)


def _database_away(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot be reached now."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, OSError | TimeoutError) and _raised_in(seen, "asyncpg", "tortoise"):
            return True
        names = {cls.__name__ for cls in type(seen).__mro__}
        if type(seen).__module__.startswith("asyncpg") and names & _AWAY:
            # an interface error is also a misuse (a bug): only a closed connection counts
            return "InterfaceError" not in names or "clos" in str(seen)

        seen = seen.__cause__ or seen.__context__
    return False


def _raised_in(error: BaseException, *packages: str) -> bool:
    """Whether ``error`` was raised from inside one of ``packages``."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(packages):
            return True
        tb = tb.tb_next
    return False


def _problem_ref(name: str = "Problem") -> dict[str, Any]:
    return {"content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


class ProblemOpenAPIProvider(OpenAPIProvider):
    """Documents error answers as problem+json: 400 (not JSON) where a body is read,
    422 where input is validated, 401/403 where a permission is required, 404 where the
    path has parameters, those a route declares with :func:`problem_responses`, and
    every other error (405, 413, 503, ...) as the default response."""

    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schema["components"]["schemas"].update(definitions.pop("$defs", {}))
        schema["components"]["schemas"]["Problem"] = definitions
        return schema

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        permission = getattr(func, REQUIRED_PERMISSION_ATTRIBUTE, None)
        declared = getattr(func, PROBLEM_RESPONSES_ATTRIBUTE, ())
        for operations in paths.values():
            for operation in operations.values():
                responses = {str(code): value for code, value in operation["responses"].items()}
                if not any(str(code).startswith("2") for code in responses):
                    responses["2XX"] = {"description": "Success"}
                problems: dict[int, str] = {}
                if operation.get("requestBody"):
                    problems[400] = "Malformed body"
                if operation.get("requestBody") or operation["parameters"]:
                    problems[422] = "Invalid input"
                if permission is not None:
                    problems[401] = "Not signed in"
                    problems[403] = "Not permitted"
                    operation["security"] = [{"bearer": []}]
                if any(parameter["in"] == "path" for parameter in operation["parameters"]):
                    problems[404] = "Not found"
                for status in declared:
                    problems.setdefault(status, HTTPStatus(status).phrase)
                for status, description in sorted(problems.items()):
                    responses.setdefault(
                        str(status), {"description": description, **_problem_ref()}
                    )
                responses["default"] = {"description": "Problem", **_problem_ref()}
                operation["responses"] = responses
        return paths, components
