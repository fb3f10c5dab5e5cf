"""Readiness: the kernel's checks and the plugins', and each plugin's state, as
``/health/ready`` reports them (:meth:`kernel.Kernel.readiness`)."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from kernel.health import HealthCheck, run_check
from kernel.plugins.loading import PluginState

if TYPE_CHECKING:
    from kernel.kernel import Kernel


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
        if plugin.state != PluginState.ACTIVE:
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
        if plugin.state == PluginState.DISABLED:
            continue
        status = "degraded" if plugin.degraded else plugin.state
        ok = plugin.state == PluginState.ACTIVE
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
