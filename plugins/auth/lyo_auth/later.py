"""Cache drops done once more, a moment later. An entry dropped when a write commits can
be put back by a read that began before the commit (it read the old row, and stores it
after the drop); dropping it again once such reads have finished closes that window.
A read slower than :data:`RACE_WINDOW` is bounded by the entry's TTL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

#: Seconds after which a drop is repeated.
RACE_WINDOW = 2.0
_pending: set[asyncio.Task[None]] = set()  # held until they ran (the loop keeps weak refs)


def again(drop: Callable[[], Awaitable[Any]], delay: float = RACE_WINDOW) -> None:
    """Run ``drop`` once more ``delay`` seconds from now, in the background."""

    async def run() -> None:
        await asyncio.sleep(delay)
        await drop()

    task = asyncio.create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)
