"""One pagination envelope for every list endpoint.

Pages: ``{items, total, page, size, pages}`` from ``?page=&size=``. Feeds, which grow
while read, use cursors: ``{items, next_cursor}`` from ``?cursor=&size=``. Out-of-range
values are 422 problems (validate the query with ``@validate_querystring(PageQuery)``).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from kernel.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=Model)

MAX_PAGE_SIZE = 100


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=100_000)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)


class CursorQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=500)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
    pages: int


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


# built once: pydantic would otherwise rebuild the parametrised class on every call
_AnyPage = Page[Any]
_AnyCursorPage = CursorPage[Any]


async def paginate(
    queryset: QuerySet[M],
    query: PageQuery,
    serialize: Callable[[M], T] | Callable[[M], Awaitable[T]],
) -> Page[T]:
    """One page of ``queryset`` (ordered by the caller) with its total."""
    total = await queryset.count()
    rows = await queryset.offset((query.page - 1) * query.size).limit(query.size)
    items = [await _maybe(serialize(row)) for row in rows]
    return _AnyPage(
        items=items,
        total=total,
        page=query.page,
        size=query.size,
        pages=math.ceil(total / query.size) if total else 0,
    )


async def paginate_cursor(
    queryset: QuerySet[M],
    query: CursorQuery,
    serialize: Callable[[M], T] | Callable[[M], Awaitable[T]],
    key: Sequence[str] = ("-created_at", "-id"),
) -> CursorPage[T]:
    """Rows after ``query.cursor`` in ``key`` order (keyset pagination: stable while
    new rows arrive). ``key`` must end with a unique field."""
    if len(key) != 2:
        raise ValueError("key is (ordering field, unique tie-breaker)")
    qs = queryset.order_by(*key)
    if query.cursor:
        fields = queryset.model._meta.fields_map
        raw = decode_cursor(query.cursor, len(key))
        try:
            values = [
                fields[f.lstrip("-")].to_python_value(v) for f, v in zip(key, raw, strict=True)
            ]
        except (ValueError, TypeError):
            raise _bad_cursor() from None
        qs = qs.filter(_after(values, key))
    rows = await qs.limit(query.size + 1)
    more = len(rows) > query.size
    rows = rows[: query.size]
    items = [await _maybe(serialize(row)) for row in rows]
    next_cursor = encode_cursor([getattr(rows[-1], f.lstrip("-")) for f in key]) if more else None
    return _AnyCursorPage(items=items, next_cursor=next_cursor)


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([str(v) for v in values])).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != length:
        raise _bad_cursor()
    return [str(v) for v in values]


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([{"pointer": "/query/cursor", "detail": "Invalid cursor."}])


def _after(values: list[Any], key: Sequence[str]) -> Q:
    """Keyset condition for two-field keys (value, unique tie-breaker)."""
    first, last = key[0], key[-1]
    op1 = "lt" if first.startswith("-") else "gt"
    op2 = "lt" if last.startswith("-") else "gt"
    f1, f2 = first.lstrip("-"), last.lstrip("-")
    condition = Q(**{f"{f1}__{op1}": values[0]}) | (
        Q(**{f1: values[0]}) & Q(**{f"{f2}__{op2}": values[-1]})
    )
    return condition


async def _maybe(value: Any) -> Any:
    if hasattr(value, "__await__"):
        return await value
    return value
