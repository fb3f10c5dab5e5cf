"""Feed pages and recommendations in the kernel cache, invalidated by version tokens.

A cached entry's key holds the tokens of what it depends on; a change replaces those
tokens (one ``SET`` each, after its commit), so every later read builds a new key and
misses: no key is ever looked for or deleted, and an entry written from data read
before a change sits under the old tokens, never read again (it expires). A lost token
(evicted, expired, a flushed Redis) is replaced by a new one: a miss, never a stale hit.
With Redis down every read is a miss (computed from the database), so nothing stale is
served then either.

Tokens (see :func:`feed_page` for which feed reads which):

- ``viewer:{user}``: their ``GET /me`` and what they may see: renewed by their follows
  and unfollows, their own activity, and the activity of a user or course they follow
  (each follower's token: the invalidation fans out, one ``SET`` per follower, no row);
- ``actor:{user}``, ``course:{id}``: renewed by activity of that user, of that course;
- ``all``: renewed by the rare changes that reach any feed: a privacy change, a
  deactivation or erasure, moderation;
- ``taste:{user}``: their recommendations, renewed by their own activity on a course.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from .settings import plugin

T = TypeVar("T")

#: Tokens outlive every entry keyed on them (a lost token is only a miss, though).
TOKEN_TTL = 86400
#: Seconds a feed page stays cached when nothing renews its tokens.
PAGE_TTL = 300
#: Writes to Redis in flight at once when an activity renews its readers' tokens.
CONCURRENCY = 64


async def token(name: str) -> str:
    """The current token of ``name`` (a new one when there is none)."""
    found = await plugin.cache.get(f"tok:{name}")
    return str(found) if found else (await renew(name))[0]


async def renew(*names: str) -> list[str]:
    """Replace the tokens ``names``: the entries keyed on them are never read again."""
    return await renew_all(names)


async def renew_all(names: Iterable[str]) -> list[str]:
    pending = list(dict.fromkeys(names))
    made = [uuid.uuid4().hex for _ in pending]
    tokens = dict(zip(pending, made, strict=True))

    async def one(name: str) -> None:
        await plugin.cache.set(f"tok:{name}", tokens[name], ttl=TOKEN_TTL)

    await each(pending, one)
    return made


async def each(items: list[T], call: Callable[[T], Awaitable[Any]]) -> None:
    """``await call(item)`` for every item, ``CONCURRENCY`` at a time (one round trip to
    Redis each: concurrent, a thousand take tens of milliseconds, not hundreds)."""
    for start in range(0, len(items), CONCURRENCY):
        await asyncio.gather(*(call(item) for item in items[start : start + CONCURRENCY]))


async def cached(
    key: str, depends: Iterable[str], compute: Callable[[], Awaitable[Any]], ttl: float
) -> Any:
    """``compute()``'s JSON-able value under ``key`` and the tokens of ``depends``."""
    tokens = await asyncio.gather(*(token(name) for name in depends))
    return await plugin.cache.get_or_set(f"{key}:{'.'.join(tokens)}", compute, ttl=ttl)
