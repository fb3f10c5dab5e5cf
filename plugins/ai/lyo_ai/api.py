"""What other plugins may call.

from lyo_ai import api as ai
if await ai.unavailable() is None: ...  # a generation requested now would run
"""

from __future__ import annotations

from . import workers

__all__ = ["unavailable"]


async def unavailable() -> str | None:
    """Why a course generation requested now would not run (``None``: it would): no
    worker has the model, the model failed to load, ... (what ``POST /api/ai/courses``
    answers 503 with)."""
    return await workers.reason()
