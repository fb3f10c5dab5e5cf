"""Recommendations, similar content and semantic search over the stored embeddings
(:mod:`.vectors`). No model here: vectors come from the database, and a search query
is embedded by a task (``feeds:embed_query``) that the request waits for."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np

from kernel import ServiceUnavailable

from .activity import TAKEN
from .caching import cached
from .embedder import INSTALL, can_embed_here
from .models import Activity, Embedding, Reaction
from .settings import plugin
from .tasks import embed_query, query_key
from .vectors import index
from .vectors import version as vector_version


async def _titles(kind: str, ids: list[str]) -> dict[str, str]:
    rows = await Embedding.filter(kind=kind, object_id__in=ids).values_list("object_id", "title")
    return {str(r[0]): str(r[1]) for r in rows}


async def similar(kind: str, object_id: str, size: int) -> list[dict[str, Any]] | None:
    vector = await index.vector_of(kind, object_id)
    if vector is None:
        return None
    found = await index.nearest(kind, vector, size, exclude=frozenset({object_id}))
    titles = await _titles(kind, [i for i, _ in found])
    return [
        {"kind": kind, "id": i, "title": titles.get(i, ""), "score": s, "reason": "similar"}
        for i, s in found
    ]


async def query_vector(q: str) -> np.ndarray:
    key = query_key(q)
    cached = await plugin.cache.get(key)
    if cached is None:
        if not can_embed_here():
            raise ServiceUnavailable(
                f"Search needs the embedding model where tasks run: {INSTALL}.",
                headers={"Retry-After": "60"},
            )
        await plugin.kernel.tasks.enqueue(embed_query, q=q)
        deadline = time.monotonic() + plugin.settings.search_timeout
        pause = 0.005  # a warm worker answers in milliseconds: look soon, then less often
        while cached is None:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    "No worker embedded the query in time; try again.", headers={"Retry-After": "5"}
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
            cached = await plugin.cache.get(key)
    return np.asarray(cached, dtype=np.float32)


async def search(q: str, kind: str, size: int) -> list[dict[str, Any]]:
    found = await index.nearest(kind, await query_vector(q), size)
    titles = await _titles(kind, [i for i, _ in found])
    return [
        {"kind": kind, "id": i, "title": titles.get(i, ""), "score": s, "reason": "matches"}
        for i, s in found
    ]


async def _popularity(ids: list[str]) -> dict[str, float]:
    """log(1 + enrolments), scaled to [0, 1] over ``ids``."""
    counts: dict[str, int] = {}
    for course_id in await Activity.filter(verb="enrolled", course_id__in=ids).values_list(
        "course_id", flat=True
    ):
        counts[str(course_id)] = counts.get(str(course_id), 0) + 1
    top = max((math.log1p(c) for c in counts.values()), default=0.0)
    return {i: (math.log1p(counts.get(i, 0)) / top if top else 0.0) for i in ids}


#: Seconds a user's recommendations are cached; their own activity on a course (token
#: ``taste:{user}``) and any change of the course vectors invalidate them sooner, others'
#: enrolments (popularity) only through this expiry.
DISCOVER_TTL = 300


async def discover(user_id: str, size: int) -> list[dict[str, Any]]:
    """:func:`recommend`, cached per user and per version of the course vectors."""
    found = await cached(
        f"discover:{user_id}:{size}:{await vector_version('course')}",
        [f"taste:{user_id}"],
        lambda: recommend(user_id, size),
        DISCOVER_TTL,
    )
    return list(found)


async def recommend(user_id: str, size: int) -> list[dict[str, Any]]:
    """Courses for ``user_id``: close to what they took (enrolled, completed, published)
    or reacted to in its discussions, scored ``similarity * (1 + popularity_weight *
    popularity)`` (similarity: the best cosine to one of those courses; popularity: log
    of enrolments scaled to [0, 1]), never one they took or reacted in; each with a reason. With no
    history: the most popular courses."""
    taken_ids = {
        str(c)
        for c in await Activity.filter(
            actor_id=user_id, verb__in=TAKEN, course_id__not_isnull=True
        ).values_list("course_id", flat=True)
    }
    liked = {
        str(c) for c in await Reaction.filter(user_id=user_id).values_list("course_id", flat=True)
    }
    seeds = {
        i: v for i in taken_ids | liked if (v := await index.vector_of("course", i)) is not None
    }
    weight = plugin.settings.popularity_weight
    if not seeds:  # nothing to go on: the most popular courses
        pool = [
            str(i)
            for i in await Embedding.filter(kind="course")
            .exclude(object_id__in=list(taken_ids))
            .values_list("object_id", flat=True)
        ]
        popularity = await _popularity(pool)
        ranked = sorted(pool, key=lambda i: -popularity[i])[:size]
        titles = await _titles("course", ranked)
        return [
            {
                "kind": "course",
                "id": i,
                "title": titles.get(i, ""),
                "score": popularity[i],
                "reason": "popular with learners",
            }
            for i in ranked
        ]
    # each candidate scores its best similarity to one taken course (the reason names
    # that course): a history of two subjects recommends both, where a mean would
    # recommend what lies between them
    ids = list(seeds)
    found = await index.nearest_any(
        "course", np.vstack([seeds[i] for i in ids]), size * 3, frozenset(taken_ids | liked)
    )
    best = {i: (score, ids[row]) for i, score, row in found}
    popularity = await _popularity(list(best))
    # popularity boosts similarity (up to ``weight``), never lifts an unrelated course
    scored = sorted(
        ((i, s * (1 + weight * popularity[i]), why) for i, (s, why) in best.items()),
        key=lambda p: -p[1],
    )[:size]
    titles = await _titles("course", [i for i, _, _ in scored] + list(seeds))
    result = [
        {
            "kind": "course",
            "id": i,
            "title": titles.get(i, ""),
            "score": score,
            "reason": f"similar to {titles.get(why, why)}",
        }
        for i, score, why in scored
    ]
    return result
