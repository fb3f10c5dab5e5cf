"""Review (rev18): a worker SIGKILLed in the middle of a batch delivery (its effects
written, not committed) leaves nothing applied; another worker reclaims the run and
applies the whole batch once, marks and effects together. Real workers, PostgreSQL and
Redis."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from kernel import Kernel, publish_many, transaction
from kernel.data.models import HandledEvent, TaskRun
from tests.notes import plugin as notes
from tests.notes.models import Folder
from tests.test_tasks import client_kernel, worker_env, workers  # noqa: F401 - fixtures


async def _batch_run(*statuses: str, seconds: float = 40) -> TaskRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for run in await TaskRun.filter(name="kernel:deliver"):
            if run.args["kwargs"].get("handler_id") == "notes:batch" and run.status in statuses:
                return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"no notes:batch run {statuses}")


async def test_a_worker_killed_mid_batch_applies_nothing_and_another_applies_it_once(
    client_kernel: Kernel,  # noqa: F811
    workers: Any,  # noqa: F811
) -> None:
    first = workers()
    async with transaction():
        await publish_many([notes.ItemAdded(slug=s) for s in ("slow-1", "k2", "k3")])
    await _batch_run("running")
    await asyncio.sleep(1)  # its folders are written, its transaction open
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert await Folder.filter(name__startswith="item-").count() == 0
    workers()
    done = await _batch_run("succeeded", "failed", seconds=60)
    assert done.status == "succeeded", done.problem
    assert done.attempts == 2
    names = sorted(f.name for f in await Folder.filter(name__startswith="item-"))
    assert names == ["item-k2", "item-k3", "item-slow-1"]
    assert await HandledEvent.filter(handler_id="notes:batch").count() == 3
