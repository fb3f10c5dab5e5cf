"""The ``bench`` plugin the runtime benchmarks load (``bench/tasks.py``, ``bench/events.py``,
``bench/ws.py``), in the benchmark's own process and in ``python -m kernel worker`` processes
(``LYO_PLUGINS__MODULES=bench.benchplugin``; run from the repository root).

- ``bench:noop``: a task that does nothing (task throughput).
- ``bench:stamp``: a task that records how long ago it was enqueued (``sent``), the
  baseline of the event benchmark.
- ``bench:on_ping``: a durable handler of ``bench.ping.v1`` that records how long ago the
  event occurred.
- ``POST /api/bench/broadcast?count=&interval=``: publishes ``count`` messages with their
  send time to websocket topic ``bench:fanout`` through the kernel's hub, in the background.
- ``authorize_topic``: any signed-in identity may subscribe to ``bench:*``.

Recorded delays go to the Redis list ``<LYO_REDIS_PREFIX>:bench:stamps`` as
``"<delay s> <unix time>"``, one entry per run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from quart import Blueprint, current_app, request
from redis.asyncio import Redis

from kernel import (
    Envelope,
    Event,
    Handler,
    Identity,
    Kernel,
    Manifest,
    TaskContext,
    TaskSpec,
    hookimpl,
    on,
    task,
)

TOPIC = "bench:fanout"
_state: dict[str, Any] = {}


def stamps_key(prefix: str) -> str:
    return f"{prefix}:bench:stamps"


class Ping(Event):
    type = "bench.ping.v1"
    seq: int


async def _record(sent: float) -> None:
    now = time.time()
    await _state["redis"].rpush(_state["key"], f"{now - sent:.6f} {now:.6f}")


@task("bench:noop", retries=0)
async def noop(ctx: TaskContext) -> None:
    """Nothing at all."""


@task("bench:stamp", retries=0)
async def stamp(ctx: TaskContext, sent: float) -> None:
    """Record the delay since ``sent`` (a Unix time taken when it was enqueued)."""
    await _record(sent)


@on(Ping, id="bench:on_ping", retries=0)
async def on_ping(envelope: Envelope) -> None:
    """Record the delay since the event occurred."""
    await _record(envelope.occurred_at.timestamp())


bp = Blueprint("bench", __name__)


@bp.post("/broadcast")
async def broadcast() -> tuple[dict[str, Any], int]:
    kernel: Kernel = current_app.extensions["lyo"]
    count = int(request.args.get("count", "10"))
    interval = float(request.args.get("interval", "0.1"))

    async def run() -> None:
        for seq in range(count):
            await kernel.hub.publish(TOPIC, {"seq": seq, "ts": time.time()})
            await asyncio.sleep(interval)

    _state["broadcast"] = asyncio.create_task(run())  # keep a reference until it is done
    return {"count": count, "interval": interval}, 202


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="bench", version="0.1.0")


@hookimpl
def tasks() -> list[TaskSpec]:
    return [noop, stamp]


@hookimpl
def event_handlers() -> list[Handler]:
    return [on_ping]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def authorize_topic(identity: Identity, topic: str) -> bool | None:
    return identity.is_authenticated if topic.startswith("bench:") else None


@hookimpl
async def startup(kernel: Kernel) -> None:
    if kernel.settings.redis_url:
        _state["redis"] = Redis.from_url(kernel.settings.redis_url)
        _state["key"] = stamps_key(kernel.settings.redis_prefix)


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    redis = _state.pop("redis", None)
    if redis is not None:
        await redis.aclose()
