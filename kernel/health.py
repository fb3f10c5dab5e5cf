"""Health checks: what ``/health/ready`` runs, how one result is judged, and readiness."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.kernel import Kernel


@dataclass(frozen=True)
class HealthCheck:
    """A named check. ``check`` (sync or async) raises, or returns ``False`` or a
    reason string, when unhealthy. A failing ``required`` check makes readiness 503."""

    name: str
    check: Callable[[], Any]
    required: bool = True
    timeout: float = 2.0


async def run_check(check: HealthCheck) -> dict[str, Any]:
    """Run one check under its timeout; never raises."""
    started = time.perf_counter()
    status, detail = "ok", None
    try:
        result = check.check()
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, check.timeout)
        if result is False or isinstance(result, str):
            status, detail = "failing", result or "check returned False"
    except TimeoutError:
        status, detail = "failing", f"timed out after {check.timeout} s"
    except Exception as exc:
        status, detail = "failing", f"{type(exc).__name__}: {exc}"
    return {
        "name": check.name,
        "status": status,
        "required": check.required,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "detail": detail,
    }


async def health_checks(kernel: Kernel) -> list[HealthCheck]:
    """The kernel's checks (database, Redis) and those of every active plugin, named
    ``<plugin>:<check>``; a plugin whose ``health_checks`` hook fails gets a failing check."""
    checks = []
    if kernel.db is not None:
        checks.append(HealthCheck("database", kernel.db.ping))
    if kernel.settings.redis_url and kernel.cache is not None:
        # not required: while Redis is away writes still commit, and their effects
        # (events, task runs) wait in PostgreSQL for the workers' reaper
        checks.append(HealthCheck("redis", kernel.cache.ping, required=False))
    for plugin in kernel.plugins.values():
        if plugin.state != "active":
            continue
        try:
            declared = list(await kernel.call(plugin, "health_checks", kernel=kernel) or [])
        except Exception as exc:
            problem = f"health_checks hook failed: {type(exc).__name__}: {exc}"
            checks.append(
                HealthCheck(f"{plugin.name}:health_checks", functools.partial(str, problem))
            )
            continue
        for check in declared:
            checks.append(
                HealthCheck(
                    f"{plugin.name}:{check.name}", check.check, check.required, check.timeout
                )
            )
    return checks


async def readiness(kernel: Kernel) -> tuple[bool, list[dict[str, Any]]]:
    """Run every check; ready unless a required one fails or a required plugin is down."""
    checks = await kernel.health_checks()
    results = list(await asyncio.gather(*(run_check(c) for c in checks)))
    for plugin in kernel.plugins.values():
        if plugin.state == "disabled":
            continue
        status = "degraded" if plugin.degraded else plugin.state
        ok = plugin.state == "active"
        results.append(
            {
                "name": f"plugin:{plugin.name}",
                "status": "ok" if ok and not plugin.degraded else status,
                "required": plugin.required,
                "latency_ms": 0.0,
                "detail": plugin.degraded or plugin.error,
            }
        )
    ready = all(r["status"] in ("ok", "degraded") or not r["required"] for r in results)
    return ready, results
