"""A background task: counts down, reporting progress, then greets.

Its status and progress are at ``GET /api/tasks/{id}`` and on websocket topic
``task:{id}``, both for the identity that started it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kernel
from kernel import TaskContext

from .settings import plugin


@kernel.task("hello:countdown", retries=2, timeout=120)
async def countdown(ctx: TaskContext, start: int, who: str) -> dict[str, Any]:
    settings = plugin.settings
    for left in range(start, 0, -1):
        await ctx.progress(100 * (start - left) / start, f"{left}...", left=left)
        await asyncio.sleep(settings.countdown_interval)
    return {"message": f"{settings.greeting}, {who}! Lift-off."}
