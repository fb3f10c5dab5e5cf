"""JSON answers encoded once, for hot read paths.

quart-schema's ``@validate_response`` validates what a route returns against its model
and then dumps it, and Quart encodes the dump: on a page of twenty courses that is most
of the request's CPU, spent checking data the route itself just read from the database.
A route that builds plain values (dicts from ``.values()``, cached JSON) can answer with
:func:`json_response` instead and declare its model with :func:`responds`: the OpenAPI
document is the same, the body is encoded once with orjson, and outside production
(development and test) every answer is still validated against the model, so a drift
between the values and the schema fails the tests instead of reaching clients::

    @bp.get("/courses")
    @kernel.responds(kernel.Page[CourseSummary])
    async def list_courses() -> Response:
        return kernel.json_response(await catalog_page())
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any, ParamSpec
from uuid import UUID

import orjson
from pydantic import BaseModel, TypeAdapter
from quart import Response, current_app
from quart_schema.validation import QUART_SCHEMA_RESPONSE_ATTRIBUTE

P = ParamSpec("P")

#: Datetimes in UTC end in ``Z``, as pydantic writes them.
_OPTIONS = orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, UUID):  # asyncpg's own UUID type, which orjson does not know
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(
    value: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    encoded: bool = False,
) -> Response:
    """A JSON response of ``value``, encoded once (orjson: dicts, lists, strings, numbers,
    UUIDs, datetimes, enums, dataclasses and pydantic models). With ``encoded=True``,
    ``value`` is JSON text already (``bytes`` or ``str``, e.g. from the cache), sent as is."""
    if encoded:
        body = value.encode() if isinstance(value, str) else bytes(value)
    else:
        body = orjson.dumps(value, default=_default, option=_OPTIONS)
    return Response(body, status=status, headers=dict(headers or {}), mimetype="application/json")


def responds(
    model: Any, status: int = 200
) -> Callable[[Callable[P, Awaitable[Any]]], Callable[P, Awaitable[Any]]]:
    """Declare that the route answers ``status`` with a body of ``model`` (as
    ``@validate_response`` does for the OpenAPI document) for a route that returns a
    :func:`json_response`. Outside production the body is validated against ``model``
    (a mismatch is an error, a 500 in tests); in production it is sent as encoded."""
    adapter: TypeAdapter[Any] = TypeAdapter(model)

    def decorate(fn: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[Any]]:
        schemas = getattr(fn, QUART_SCHEMA_RESPONSE_ATTRIBUTE, {})
        schemas[status] = (model, None)
        setattr(fn, QUART_SCHEMA_RESPONSE_ATTRIBUTE, schemas)

        @wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            result = await fn(*args, **kwargs)
            if (
                isinstance(result, Response)
                and result.status_code == status
                and not current_app.kernel.settings.is_production_like  # type: ignore[attr-defined]
            ):
                adapter.validate_json(await result.get_data())
            return result

        return wrapper

    return decorate
