"""The course listing (``GET /api/learning/courses``), its hot path.

The public catalog (no ``status`` or ``author`` filter: published courses only, the same
for every caller) is cached as encoded JSON pages in the kernel cache, under a catalog
*version*: any saved or deleted course, lesson or tag replaces the version once its
transaction commits, so the next read after a write through the API misses and reads
the database; old pages are never looked up again and expire (``catalog_ttl``). If the
version cannot be replaced (Redis down during the write), a page can be stale for at
most ``catalog_ttl`` seconds. The page's ``total`` is cached per filter under the same
version, so paging through a listing counts its rows once.

A miss builds the page from plain rows (``.values()``: no model instances), three more
statements for the whole page (count, tags, lesson outlines), and encodes it once.
Listings that depend on the caller (``status``, ``author``) take the same path uncached.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from typing import Any
from uuid import UUID

import orjson
from quart import Response
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.signals import post_delete, post_save

from kernel import Identity, after_commit, json_response

from .access import MANAGE
from .courses import COLUMNS
from .models import Course, CourseStatus, CourseTag, Lesson
from .schemas import CourseQuery
from .settings import plugin

VERSION = "catalog:version"
OUTLINE = ("id", "course_id", "position", "title", "estimated_minutes")


def listing(query: CourseQuery, identity: Identity) -> QuerySet[Course]:
    """The courses ``identity`` may see matching ``query``, in its order. Without a status
    or author filter only published courses are listed (the catalog)."""
    qs = Course.all()
    if not identity.has(MANAGE):
        visible = ~Q(status=CourseStatus.DRAFT)
        if identity.id is not None:
            visible |= Q(author_id=identity.id)
        qs = qs.filter(visible)
    if query.status is not None:
        qs = qs.filter(status=query.status)
    elif query.author is None:
        qs = qs.filter(status=CourseStatus.PUBLISHED)
    if query.author is not None:
        qs = qs.filter(author_id=identity.id or "" if query.author == "me" else query.author)
    if query.level is not None:
        qs = qs.filter(level=query.level)
    if query.tag is not None:
        qs = qs.filter(tags__name=query.tag)
    if query.q is not None:
        # PostgreSQL: trigram indexes on both columns (migration 2) serve this match
        qs = qs.filter(Q(title__icontains=query.q) | Q(description__icontains=query.q))
    tie_breaker = "-id" if query.sort.startswith("-") else "id"
    return qs.order_by(query.sort, tie_breaker)


async def page(query: CourseQuery, identity: Identity) -> Response:
    """The listing page for ``query`` as ``identity`` sees it, encoded JSON."""
    if query.status is not None or query.author is not None:
        return json_response(await _build(query, identity, None))
    ttl = plugin.settings.catalog_ttl
    cache = plugin.cache
    version = await cache.get(VERSION) if ttl else None
    if version is None:
        if ttl:  # first use, expired, or Redis down (then nothing is cached: set is a no-op)
            await cache.set(VERSION, secrets.token_hex(8), ttl=None)
        return json_response(await _build(query, identity, None))
    filters = _digest(query.level, query.tag, query.q)
    key = f"catalog:{version}:{_digest(filters, query.sort, query.page, query.size)}"
    body = await cache.get(key)
    if body is None:
        count_key = f"catalog:{version}:count:{filters}"
        built = await _build(query, identity, await cache.get(count_key))
        response = json_response(built)
        await cache.set(key, await response.get_data(as_text=True), ttl=ttl)
        await cache.set(count_key, built["total"], ttl=ttl)
        return response
    return json_response(body, encoded=True)


async def _build(query: CourseQuery, identity: Identity, total: int | None) -> dict[str, Any]:
    qs = listing(query, identity)
    if total is None:
        total = await qs.count()
    offset = (query.page - 1) * query.size
    rows = await qs.offset(offset).limit(query.size).values(*COLUMNS) if offset < total else []
    ids = [row["id"] for row in rows]
    tags: dict[UUID, list[str]] = {i: [] for i in ids}
    lessons: dict[UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        pairs = CourseTag.filter(course_id__in=ids).order_by("id").values_list("course_id", "name")
        for course_id, name in await pairs:
            tags[course_id].append(name)
        outlines = Lesson.filter(course_id__in=ids).order_by("position").values(*OUTLINE)
        for lesson in await outlines:
            lessons[lesson.pop("course_id")].append(lesson)
    for row in rows:
        outline = lessons[row["id"]]
        row["tags"] = tags[row["id"]]
        row["lesson_count"] = len(outline)
        row["estimated_minutes"] = sum(lesson["estimated_minutes"] for lesson in outline)
        row["lessons"] = outline
    return {
        "items": rows,
        "total": total,
        "page": query.page,
        "size": query.size,
        "pages": math.ceil(total / query.size) if total else 0,
    }


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(orjson.dumps(parts), digest_size=12).hexdigest()


async def changed() -> None:
    """Retire every cached catalog page (once the current transaction commits)."""

    async def retire() -> None:
        await plugin.cache.set(VERSION, secrets.token_hex(8), ttl=None)

    await after_commit(retire)


@post_save(Course, Lesson, CourseTag)
async def _saved(*_: Any) -> None:
    await changed()


@post_delete(Course, Lesson, CourseTag)
async def _deleted(*_: Any) -> None:
    await changed()
