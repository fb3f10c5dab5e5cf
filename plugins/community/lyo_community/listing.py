"""The discussion listings, answered as JSON bytes, pinned discussions first in every
sort (``recent``: newest, ``active``: last activity, ``top``: reactions), with the same
filters (category, course, lesson, tag, author, pinned):

- :func:`listing`, ``GET /discussions``: numbered pages in the kernel's envelope
  ``{items, total, page, size, pages}`` (offset pages: one statement, plus the count);
- :func:`feed`, ``GET /courses/{id}/discussions``: a course's discussions as a feed,
  ``{items, next_cursor}`` (keyset cursors over pinned, the sort field and the id:
  stable while discussions arrive).

What everyone but moderators sees is shared through the read cache (:mod:`.readcache`):
the first page of each listing and feed, and each listing's ``total``, counted once per
filter (whatever the sort or page size) and kept under the listings' generation, so
every write drops it with the pages: a total is never counted on every request, and
never stale after a write. Later pages run their page statement each time, with the
kept total. Moderators, and signed-in readers with unlisted (held or hidden)
discussions of their own in the listing, get pages and totals counted for them, so no
total counts what its reader may not see. Without the read cache every page is
counted."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from tortoise.expressions import Q

from kernel import ANONYMOUS, Identity

from . import readcache
from .access import is_moderator, listed
from .models import Discussion, PostState
from .rows import DISCUSSION_FIELDS, decode_cursor, discussion_dict, encode, encode_cursor
from .schemas import CourseFeedQuery, DiscussionFilters, DiscussionQuery

SORT_FIELDS = {"recent": "created_at", "active": "last_activity_at", "top": "reaction_count"}
_SORT_VALUE: dict[str, Callable[[str], Any]] = {
    "created_at": datetime.fromisoformat,
    "last_activity_at": datetime.fromisoformat,
    "reaction_count": lambda value: _count(int(value)),
}


def _count(value: int) -> int:
    """A reaction count from a cursor: what the column (a 4-byte integer) can hold."""
    if not 0 <= value < 2**31:
        raise ValueError(value)
    return value


#: ``author=me`` for an anonymous reader: nobody's discussions.
_NOBODY = object()


async def listing(query: DiscussionQuery, identity: Identity) -> bytes:
    """One numbered page (``page``, ``size``) with its ``total``."""
    author = _author(query, identity)
    if author is _NOBODY:
        return _envelope([], 0, query)
    course = query.course_id
    if not await _shared(identity, query, course, author):
        qs = _filtered(listed(identity), query, course, author)
        return await _numbered(qs, query, await qs.count())
    generation = await readcache.generation(readcache.LISTINGS)
    if generation is None:
        qs = _filtered(listed(ANONYMOUS), query, course, author)
        return await _numbered(qs, query, await qs.count())
    # a hit builds no query
    facets = _facets(query, course, author)

    async def numbered() -> bytes:
        qs = _filtered(listed(ANONYMOUS), query, course, author)
        total = await readcache.cached(f"count:{generation}:{facets}", qs.count)
        return await _numbered(qs, query, int(total))

    if query.page != 1:
        return await numbered()
    key = f"list:{generation}:{query.sort}:{query.size}:{facets}"
    return await readcache.cached_bytes(key, numbered)


async def feed(course_id: UUID, query: CourseFeedQuery, identity: Identity) -> bytes:
    """A page of the course's discussions after ``cursor``."""
    author = _author(query, identity)
    if author is _NOBODY:
        return encode({"items": [], "next_cursor": None})
    if not await _shared(identity, query, course_id, author):
        return await _keyset(_filtered(listed(identity), query, course_id, author), query)

    async def page() -> bytes:
        return await _keyset(_filtered(listed(ANONYMOUS), query, course_id, author), query)

    generation = None
    if query.cursor is None:
        generation = await readcache.generation(readcache.LISTINGS)
    if generation is None:
        return await page()
    facets = _facets(query, course_id, author)
    key = f"feed:{generation}:{query.sort}:{query.size}:{facets}"
    return await readcache.cached_bytes(key, page)


def _author(query: DiscussionFilters, identity: Identity) -> Any:
    if query.author == "me":
        return _NOBODY if identity.id is None else identity.id
    return query.author


def _facets(query: DiscussionFilters, course: UUID | None, author: str | None) -> str:
    """The filters, as part of a cache key."""
    facets = [query.category, course, query.lesson_id, query.tag, author, query.pinned]
    return orjson.dumps(facets, default=str).decode()


async def _shared(
    identity: Identity, query: DiscussionFilters, course: UUID | None, author: str | None
) -> bool:
    """Whether ``identity`` sees what anonymous readers see here (not a moderator, and
    no unlisted discussion of their own in this listing)."""
    if is_moderator(identity):
        return False
    if identity.id is None:
        return True
    unlisted = Q(author_id=identity.id, deleted_at=None) & (
        Q(state=PostState.HELD) | Q(hidden=True)
    )
    return not await _filtered(unlisted, query, course, author).exists()


def _filtered(visible: Q, query: DiscussionFilters, course: UUID | None, author: str | None) -> Any:
    qs = Discussion.filter(visible)
    if query.category is not None:
        qs = qs.filter(category__slug=query.category)
    if course is not None:
        qs = qs.filter(course_id=course)
    if query.lesson_id is not None:
        qs = qs.filter(lesson_id=query.lesson_id)
    if query.tag is not None:
        qs = qs.filter(tag_rows__name=query.tag)
    if author is not None:
        qs = qs.filter(author_id=author)
    if query.pinned is not None:
        qs = qs.filter(pinned=query.pinned)
    return qs


def _ordered(qs: Any, field: str) -> Any:
    """(pinned, sort field, id), all descending: pinned discussions first."""
    return qs.order_by("-pinned", f"-{field}", "-id")


async def _numbered(qs: Any, query: DiscussionQuery, total: int) -> bytes:
    rows = (
        await _ordered(qs, SORT_FIELDS[query.sort])
        .offset((query.page - 1) * query.size)
        .limit(query.size)
        .values(*DISCUSSION_FIELDS)
    )
    return _envelope(rows, total, query)


def _envelope(rows: list[dict[str, Any]], total: int, query: DiscussionQuery) -> bytes:
    return encode(
        {
            "items": [discussion_dict(row) for row in rows],
            "total": total,
            "page": query.page,
            "size": query.size,
            "pages": math.ceil(total / query.size),
        }
    )


async def _keyset(qs: Any, query: CourseFeedQuery) -> bytes:
    field = SORT_FIELDS[query.sort]
    if query.cursor is not None:
        pinned, value, last = decode_cursor(query.cursor, _flag, _SORT_VALUE[field], UUID)
        later = Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": last})
        qs = qs.filter(
            (Q(pinned=True) & later) | Q(pinned=False) if pinned else Q(pinned=False) & later
        )
    rows = await _ordered(qs, field).limit(query.size + 1).values(*DISCUSSION_FIELDS)
    more = len(rows) > query.size
    rows = rows[: query.size]
    last_row = rows[-1] if more else None
    cursor = (
        encode_cursor(bool(last_row["pinned"]), last_row[field], last_row["id"])
        if last_row is not None
        else None
    )
    return encode({"items": [discussion_dict(row) for row in rows], "next_cursor": cursor})


def _flag(text: str) -> bool:
    return {"True": True, "False": False}[text]
