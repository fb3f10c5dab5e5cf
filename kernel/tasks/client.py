"""The client side of tasks: enqueueing runs, sending their messages, cancelling.

A run is a row first (:mod:`kernel.tasks.store`), then a message on its queue's stream;
inside a transaction the message leaves only when it commits. A message that never
leaves (a crash after the commit, a lost Redis) is sent by a worker's reaper
(:mod:`kernel.tasks.reaper`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog

from kernel.data.db import after_commit, current_transaction
from kernel.data.models import TaskRun
from kernel.errors import ServiceUnavailable
from kernel.identity import ANONYMOUS, Identity
from kernel.tasks.broker import stream
from kernel.tasks.quotas import owner_slot
from kernel.tasks.runs import snapshot
from kernel.tasks.spec import TaskSpec

if TYPE_CHECKING:
    from kernel.tasks.runtime import Tasks

log = structlog.get_logger("lyo.tasks")

#: A message to send: the task, the run's ``lyo`` metadata, the task's arguments.
Send = tuple[TaskSpec, dict[str, Any], dict[str, Any]]


class TaskCall(NamedTuple):
    """One run to enqueue with :meth:`Tasks.enqueue_many`: the task, its arguments, and
    the run's owner, request id, retries and backoff (``None``: the task's own)."""

    spec: TaskSpec
    kwargs: dict[str, Any]
    owner: Identity | None = None
    request_id: str | None = None
    retries: int | None = None
    backoff: float | None = None


class Client:
    """Enqueues runs and sends their messages (``Tasks.enqueue``, ``Tasks.cancel``)."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self.settings = tasks.kernel.settings
        self.specs = tasks.specs
        self.store = tasks.store

    async def enqueue(
        self,
        name: str | TaskSpec,
        /,
        *,
        owner: Identity | None = None,
        request_id: str | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        **kwargs: Any,
    ) -> TaskRun:
        """:meth:`Tasks.enqueue`: one run, within its owner's limit (a 429 over it)."""
        spec = self.specs[name if isinstance(name, str) else name.name]
        call = TaskCall(spec, kwargs, owner, request_id, retries, backoff)
        limit = self.settings.task_limits.get(spec.name, spec.max_per_owner)
        if limit is not None and owner is not None and owner.id is not None:
            async with owner_slot(spec.name, owner.id, limit):  # 429 over the limit
                [run] = await self.enqueue_many([call])
            return run
        [run] = await self.enqueue_many([call])
        return run

    async def enqueue_many(self, calls: list[TaskCall]) -> list[TaskRun]:
        """Several runs at once: one INSERT for all, their messages sent together after
        the commit (the event relay's way). No per-owner limits apply."""
        if not calls:
            return []
        sends: list[Send] = []
        rows: list[dict[str, Any]] = []
        for spec, kwargs, owner, request_id, retries, backoff in calls:
            identity = owner or ANONYMOUS
            run_id = uuid.uuid4()
            meta = {
                "task_id": str(run_id),
                "attempt": 1,
                "retries": spec.retries if retries is None else retries,
                "backoff": spec.backoff if backoff is None else backoff,
                "request_id": request_id or _request_id(),
                "identity": {
                    "id": identity.id,
                    "kind": identity.kind,
                    "roles": sorted(identity.roles),
                    "permissions": sorted(identity.permissions),
                },
            }
            sends.append((spec, meta, kwargs))
            rows.append(
                {
                    "id": run_id,
                    "name": spec.name,
                    "kind": spec.kind,
                    "queue": spec.queue,
                    "owner_id": identity.id,
                    "request_id": meta["request_id"],
                    # the message's content: the reaper sends it if it never left
                    "args": {"lyo": meta, "kwargs": kwargs},
                }
            )
        runs = await self.store.insert(rows)
        if current_transaction() is not None:
            # the message leaves after the commit; if it cannot, the run waits in the
            # database (sent_at null) and a worker's reaper sends it
            if len(sends) == 1:
                await after_commit(lambda: self.send(*sends[0]))
            else:
                await after_commit(lambda: self.send_all(sends))
            return runs
        try:
            if len(sends) == 1:
                await self.send(*sends[0])
            else:
                await self.send_all(sends)
        except Exception as exc:
            # the caller hears that nothing will run: the runs not sent are cancelled
            # (never left for the reaper to start behind the caller's back)
            task_ids = [meta["task_id"] for _, meta, _ in sends]
            log.error("task messages not sent; runs cancelled", task_ids=task_ids)
            await self.store.cancel_unsent(task_ids)
            raise ServiceUnavailable(
                "The task queue is unavailable; retry shortly.", headers={"Retry-After": "5"}
            ) from exc
        return runs

    async def send_all(self, sends: list[Send]) -> None:
        """Send several messages (sharing pipelined round trips); every failure is
        logged with its run, and the first is raised once all have been tried."""
        sent = await asyncio.gather(*(self.send(*send) for send in sends), return_exceptions=True)
        errors = [
            (meta["task_id"], error)
            for (_, meta, _), error in zip(sends, sent, strict=True)
            if isinstance(error, BaseException)
        ]
        for task_id, error in errors:
            log.error(
                "task message not sent; the run stays queued", task_id=task_id, error=repr(error)
            )
        if errors:
            raise errors[0][1]

    async def send(
        self, spec: TaskSpec, meta: dict[str, Any], kwargs: dict[str, Any], *, mark: bool = True
    ) -> None:
        """Send a run's message to its queue; with ``mark``, record (soon) that the
        broker accepted it."""
        found = self.tasks.broker.find_task(spec.name)
        assert found is not None
        await (
            found.kicker()
            .with_labels(queue_name=stream(self.settings.redis_prefix, spec.queue))
            .with_task_id(str(meta["task_id"]))  # taskiq's result is kept under the run's id
            .kiq(lyo=meta, kwargs=kwargs)
        )
        if mark and self.settings.redis_url:
            # shared with concurrent sends, one statement; if it is lost the reaper
            # sends the message again, which the lease makes harmless
            self.store.sent_soon(uuid.UUID(str(meta["task_id"])))

    async def cancel(self, task_id: uuid.UUID) -> TaskRun:
        """:meth:`Tasks.cancel`."""
        run = await self.store.request_cancel(task_id)
        await self.tasks.publish(task_id, snapshot(run))
        return run


def _request_id() -> str | None:
    ctx = structlog.contextvars.get_contextvars()
    value = ctx.get("request_id")
    return str(value) if value else None
