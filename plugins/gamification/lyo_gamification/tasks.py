"""``gamification:rebuild``: periodically recompute balances and boards from the ledger
(what a Redis outage made the boards miss comes back)."""

from __future__ import annotations

from typing import Any

from kernel import TaskContext, task

from . import upkeep


@task("gamification:rebuild", queue="low", retries=1, every=3600)
async def rebuild(ctx: TaskContext, **_: Any) -> dict[str, int]:
    balances = await upkeep.rebuild_balances()
    await upkeep.rebuild_progress()
    built = await upkeep.rebuild_boards()
    return {"balances": balances, "boards": built}
