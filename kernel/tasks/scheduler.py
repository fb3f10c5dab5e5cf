"""Periodic tasks (``@task(..., every=seconds)``), enqueued on time by ``lyo scheduler``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import structlog

from kernel.identity import Identity

if TYPE_CHECKING:
    from kernel.tasks.runtime import Tasks

log = structlog.get_logger("lyo.tasks")

#: Who periodic runs belong to.
SCHEDULER = Identity(id="scheduler", kind="service")


async def run_scheduler(tasks: Tasks, stop: asyncio.Event) -> None:
    """Enqueue periodic tasks on time until ``stop`` is set. With Redis, a lock per tick
    lets several schedulers run without enqueuing twice."""
    settings = tasks.kernel.settings
    periodic = [s for s in tasks.specs.values() if s.every]
    due = {s.name: time.time() for s in periodic}
    redis = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url)
    try:
        while not stop.is_set():
            now = time.time()
            for spec in periodic:
                if now >= due[spec.name]:
                    tick = int(now // spec.every)  # type: ignore[operator]
                    try:
                        if redis is None or await redis.set(
                            f"{settings.redis_prefix}:tick:{spec.name}:{tick}",
                            1,
                            nx=True,
                            ex=int(spec.every or 1) + 60,
                        ):
                            await tasks.enqueue(spec, owner=SCHEDULER)
                    except Exception as exc:  # Redis or the database is away: retry
                        log.warning("periodic task not enqueued", task=spec.name, error=repr(exc))
                        continue
                    due[spec.name] = (tick + 1) * spec.every  # type: ignore[operator]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        if redis is not None:
            await redis.aclose()
