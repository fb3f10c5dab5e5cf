"""Re-sending the messages of queued runs that never left.

A run's row commits before its message is sent; a crash in between, a send that
failed or a Redis that lost its streams leaves a queued run no worker will ever see.
Every ``lyo worker`` runs a reaper that sends such runs again (their row holds the
message's content); the lease makes a message sent twice harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from kernel.tasks.store import SENT_LATEST, postgres

if TYPE_CHECKING:
    from kernel.tasks.runtime import Tasks

log = structlog.get_logger("lyo.tasks")

#: Seconds a queued run may go without an accepted send before the reaper sends it.
REAP_GRACE = 5.0
#: Seconds after a Redis data loss is found when it is applied again: accepted sends are
#: recorded late (within :data:`~kernel.tasks.store.SENT_LATEST` of their acceptance,
#: or never), so a send accepted before the loss may be recorded after the first pass.
#: The later passes are for a statement that took long to commit.
LATE_PASSES = (SENT_LATEST + 1, 10.0, 30.0)


class Reaper:
    """Sends the messages of queued runs that never left."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self.store = tasks.store
        #: Losses to forget again once the sends accepted before them are recorded:
        #: (when, monotonic; the loss's ``before``).
        self._lost: list[tuple[float, datetime]] = []

    async def reap(self, grace: float = REAP_GRACE, limit: int = 100) -> int:
        """Send the messages of queued runs that never left (no accepted send for
        ``grace`` seconds: a crash after the commit, a send that failed, a lost Redis).
        Rows are taken ``FOR UPDATE SKIP LOCKED``: one worker sends a given run. A run
        whose message was accepted (``sent_at``) is never sent again here, however long
        it waits in its queue. Returns how many were sent."""
        if postgres() is None or not self.tasks.kernel.settings.redis_url:
            return 0
        count = 0
        async with self.store.unsent(grace, limit) as (runs, sent):
            for task_id, name, args in runs:
                spec = self.tasks.specs.get(name)
                if spec is None:
                    log.warning("run of an unknown task not re-sent", task=name)
                    continue
                try:
                    await self.tasks.client.send(spec, args["lyo"], args["kwargs"], mark=False)
                except Exception as exc:
                    log.warning("reaper could not send; retrying later", error=repr(exc))
                    break
                sent.append(task_id)
            count = len(sent)
        if count:
            log.warning("reaper sent runs whose message had not left", count=count)
        return count

    async def forget_sends(self, before: datetime) -> int:
        """Redis lost its streams (it came back empty): runs still queued whose message
        was accepted before ``before`` are marked unsent, for the reaper to send."""
        # sends accepted before the loss are recorded late, with their acceptance
        # time: forgotten again once they are in
        self._lost.extend((time.monotonic() + after, before) for after in LATE_PASSES)
        count = await self.store.forget_sends(before)
        if count:
            log.warning("redis lost queued messages; they will be sent again", count=count)
        return count

    async def _forget_late(self) -> None:
        """The later passes of :meth:`forget_sends` that are due."""
        now = time.monotonic()
        due = [before for when, before in self._lost if when <= now]
        self._lost = [(when, before) for when, before in self._lost if when > now]
        for at, before in enumerate(due):
            try:
                count = await self.store.forget_sends(before)
            except Exception:
                self._lost.extend((now, later) for later in due[at:])  # next round
                raise
            if count:
                log.warning("redis lost queued messages; they will be sent again", count=count)

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Reap every ``every`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self._forget_late()
                while await self.reap() >= 100:
                    pass
            except Exception as exc:  # the database or Redis is away: next round
                log.warning("reaper round failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
