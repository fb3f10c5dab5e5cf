"""Feed pages and recommendations in the kernel cache, invalidated by version tokens.

A cached entry's key holds the tokens of what it depends on; a change replaces those
tokens after it commits, so every later read builds a new key and misses: no key is
ever looked for or deleted, and an entry written from data read before a change sits
under the old tokens, never read again (it expires). A lost token (evicted, expired, a
flushed Redis) is replaced by a new one: a miss, never a stale hit. With Redis down
every read is computed from the database, uncached.

The tokens are the scores of one sorted set (a random 52-bit number each), so renewing
the tokens of the thousand followers of an actor is one ``ZADD``, one round trip.

- ``viewer:{user}``: their feeds (what they follow, whom they may see): renewed by their
  follows and unfollows, their own activity, and the activity of a user or course they
  follow (each follower's token: the invalidation fans out, in one command, no row);
- ``actor:{user}``, ``course:{id}``: renewed by activity of that user, of that course;
- ``all``: renewed by the rare changes that reach any feed: a privacy change, a
  deactivation or erasure, moderation;
- ``taste:{user}``: their recommendations, renewed by their own activity on a course
  and their reactions.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from kernel import ServiceUnavailable

from .settings import plugin

T = TypeVar("T")

#: The sorted set of tokens; it expires as a whole (all tokens lost: one miss each).
TOKENS = "tokens"
TOKEN_TTL = 86400
#: Seconds a feed page stays cached when nothing renews its tokens.
PAGE_TTL = 300
#: Messages in flight at once when an activity is pushed to its readers.
CONCURRENCY = 64


async def token(name: str) -> str | None:
    """The current token of ``name`` (a new one when there is none); ``None`` when
    Redis is unavailable (then nothing is cached)."""
    try:
        score = await plugin.cache.zscore(TOKENS, name)
    except ServiceUnavailable:
        return None
    if score is None:
        return await renew(name)
    return f"{score:.0f}"


async def renew(*names: str) -> str | None:
    """Replace the tokens ``names`` (the entries keyed on them are never read again);
    the last one's new token."""
    return await renew_all(names)


async def renew_all(names: Iterable[str]) -> str | None:
    scores = {name: float(secrets.randbits(52)) for name in names}  # exact as a double
    if not scores:
        return None
    try:
        await plugin.cache.zadd(TOKENS, scores, ttl=TOKEN_TTL)
    except ServiceUnavailable:  # nothing is read from the cache while Redis is down
        return None
    return f"{list(scores.values())[-1]:.0f}"


async def each(items: list[T], call: Callable[[T], Awaitable[Any]]) -> None:
    """``await call(item)`` for every item, ``CONCURRENCY`` at a time (the live push: one
    message to Redis each, a thousand in a fraction of the time one by one takes)."""
    for start in range(0, len(items), CONCURRENCY):
        await asyncio.gather(*(call(item) for item in items[start : start + CONCURRENCY]))


async def cached(
    key: str, depends: Iterable[str], compute: Callable[[], Awaitable[Any]], ttl: float
) -> Any:
    """``compute()``'s JSON-able value under ``key`` and the tokens of ``depends``."""
    tokens = await asyncio.gather(*(token(name) for name in depends))
    if None in tokens:
        return await compute()
    return await plugin.cache.get_or_set(f"{key}:{'.'.join(map(str, tokens))}", compute, ttl=ttl)
