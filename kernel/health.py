"""Health checks: what ``/health/ready`` runs, and how one result is judged."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
