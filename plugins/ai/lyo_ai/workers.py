"""Where generations run: this process's generator (:data:`RUNNER`) and whether
generation is available, shared between API processes and workers through the kernel
cache (Redis in production), so API processes never need the model runtime.

Each process that runs generations (``kernel.consumes(QUEUE)``: a ``lyo worker``, or the
development server with the in-memory broker) beats every ``heartbeat_interval``
seconds: ``workers:ready`` when it can generate (the runtime and the model's files are
there, no load failure), else ``workers:unavailable`` with its reason; both live for
three intervals. A load failure in any process is shared as ``degraded`` for
``load_retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import structlog

from kernel import ServiceUnavailable

from .artifacts import ModelUnavailable, Source, problem
from .generation import Generator
from .settings import NAME, AiSettings, plugin

QUEUE = "default"  # generate_course's queue
log = structlog.get_logger("lyo.ai")

KEY = "degraded"
READY = "workers:ready"
UNAVAILABLE = "workers:unavailable"


def local() -> str | None:
    """Why this process cannot generate (``None``: it can), found without loading."""
    degraded = plugin.kernel.plugin(NAME).degraded
    if degraded or RUNNER.installed is not None:
        return degraded
    settings: AiSettings = plugin.settings
    return problem(Source.parse(settings.model))


async def reason() -> str | None:
    """Why a generation requested now would not run (``None``: it would)."""
    cache = plugin.cache
    shared = await cache.get(KEY)
    if plugin.kernel.consumes(QUEUE):  # generations run here: this process knows
        return local() or shared
    if shared:
        return str(shared)
    if await cache.get(READY):
        return None
    unavailable = await cache.get(UNAVAILABLE)
    if unavailable:
        return f"no worker can generate: {unavailable}"
    window = 3 * plugin.settings.heartbeat_interval
    return (
        f"no worker has reported in the last {window:g} s: "
        "start `lyo worker` where the model runtime is installed "
        "(pip install torch==2.13.0 'lyo-ai[model]')"
    )


async def beat() -> None:
    """Report this process's model state (a worker's heartbeat)."""
    settings: AiSettings = plugin.settings
    cache = plugin.cache
    ttl = 3 * settings.heartbeat_interval
    reason = local()
    if reason is None:
        from .model import MODEL

        loaded = RUNNER.installed is not None or MODEL.generator is not None
        await cache.set(READY, "loaded" if loaded else "loads on first use", ttl=ttl)
    else:
        await cache.set(UNAVAILABLE, reason, ttl=ttl)


async def beating() -> None:
    interval = plugin.settings.heartbeat_interval
    while True:
        await asyncio.sleep(interval)
        try:
            await beat()
        except Exception as exc:  # the cache degrades to misses; keep beating
            log.warning("ai heartbeat failed", error=f"{type(exc).__name__}: {exc}")


async def fail(reason: str, ttl: float) -> None:
    plugin.set_degraded(reason)
    await plugin.cache.set(KEY, reason, ttl=ttl)


async def recover() -> None:
    plugin.set_degraded(None)
    await plugin.cache.delete(KEY)


class Runner:
    """Per-process: the generator (a loaded model, or one installed by tests and
    benchmarks with :meth:`install`) and the lock that makes generations take turns."""

    def __init__(self) -> None:
        self.installed: Generator | None = None
        self.turn = threading.Lock()

    def install(self, generator: Generator | None) -> None:
        """Use ``generator`` instead of loading the model (``None``: load it again)."""
        self.installed = generator

    async def generator(self, settings: AiSettings) -> Generator:
        if self.installed is not None:
            return self.installed
        from .model import MODEL

        if MODEL.generator is not None:
            return MODEL.generator
        breaker = plugin.breaker(
            "model-load",
            failure_threshold=settings.load_failure_threshold,
            reset_timeout=settings.load_retry_after,
        )
        try:
            async with breaker:
                generator = await asyncio.to_thread(MODEL.get, settings)
        except ServiceUnavailable:
            raise  # the breaker is open: fail fast, the reason is already recorded
        except Exception as exc:
            reason = (
                str(exc) if isinstance(exc, ModelUnavailable) else f"{type(exc).__name__}: {exc}"
            )
            await fail(f"model unavailable: {reason}", settings.load_retry_after)
            raise ServiceUnavailable(f"The model could not be loaded: {reason}") from exc
        await recover()
        return generator


RUNNER = Runner()


_heartbeat: asyncio.Task[None] | None = None


async def start() -> None:
    """Where generations run (a worker; in development the API process too): mark the
    plugin degraded when the model cannot be used, found without loading it (a missing
    package, file or library; checksums are checked when it loads), and start the
    heartbeat that tells API processes whether generation is available. API processes
    of a deployment with workers look for nothing: they never need the model runtime."""
    global _heartbeat
    if not plugin.kernel.consumes(QUEUE):
        return
    settings: AiSettings = plugin.settings
    if RUNNER.installed is None:  # tests and benchmarks may bring their own generator
        plugin.set_degraded(problem(Source.parse(settings.model)))
    await beat()
    _heartbeat = asyncio.create_task(beating(), name="lyo-ai-heartbeat")


async def stop() -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _heartbeat
        _heartbeat = None
