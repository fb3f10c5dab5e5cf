"""The :class:`Tasks` object a kernel holds (``kernel.tasks``): the declared tasks, the
broker, and the roles that share them: the client (:mod:`kernel.tasks.client`), the
worker (:mod:`kernel.tasks.worker`), the reaper (:mod:`kernel.tasks.reaper`), the
scheduler (:mod:`kernel.tasks.scheduler`) and the run rows (:mod:`kernel.tasks.store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskiq import AsyncBroker

from kernel.data.models import TaskRun
from kernel.errors import PluginError
from kernel.identity import Identity
from kernel.tasks.broker import make_broker
from kernel.tasks.client import Client, TaskCall
from kernel.tasks.reaper import Reaper
from kernel.tasks.scheduler import run_scheduler
from kernel.tasks.spec import QUEUES, TaskSpec
from kernel.tasks.store import RunStore
from kernel.tasks.worker import Worker

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class Tasks:
    """The kernel's task machinery (``kernel.tasks``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.specs: dict[str, TaskSpec] = {}
        self.store = RunStore(kernel.settings.task_lease)
        #: The broker messages are sent through (and, in-process, run by).
        self.broker: AsyncBroker = make_broker(
            kernel.settings, QUEUES, kernel.pipe, self.store.lease
        )
        self.client = Client(self)
        self.reaper = Reaper(self)
        self.worker = Worker(self)
        self._hub_publish: Callable[[str, dict[str, Any]], object] | None = None

    # -- set-up ----------------------------------------------------------------------

    def register(self, spec: TaskSpec, owner: str) -> None:
        if not spec.name.startswith(owner + ":") and owner != "kernel":
            raise PluginError(f"plugin {owner!r} declares task {spec.name!r}; use '{owner}:...'")
        if spec.name in self.specs:
            raise PluginError(f"task {spec.name!r} is declared twice")
        self.specs[spec.name] = spec
        self.worker.bind(self.broker, spec)

    async def start(self) -> None:
        await self.broker.startup()

    async def stop(self) -> None:
        running = getattr(self.broker, "_running_tasks", None)  # the in-memory broker's
        if running:
            _, pending = await asyncio.wait(list(running), timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):  # accepted sends on their way are recorded
            await asyncio.wait_for(self.store.settle(), 2)
        await self.worker.stop()
        await self.broker.shutdown()

    def on_publish(self, publish: Callable[[str, dict[str, Any]], object]) -> None:
        """Where status and progress go besides the database: the realtime hub's
        ``publish_soon``, so a task never waits for its status to go out (a coroutine
        function is awaited)."""
        self._hub_publish = publish

    async def publish(self, task_id: uuid.UUID | str, data: dict[str, Any]) -> None:
        if self._hub_publish is not None:
            with contextlib.suppress(Exception):
                sent = self._hub_publish(f"task:{task_id}", data)
                if inspect.isawaitable(sent):
                    await sent

    # -- the roles -------------------------------------------------------------------

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
        """Record a run of task ``name`` and send it to its queue, with ``kwargs`` as the
        task's arguments (any but ``owner``, ``request_id``, ``retries`` and ``backoff``;
        ``name`` is positional only so a task may take a ``name``). Inside a
        :func:`kernel.db.transaction` the message leaves only when that commits.
        ``retries``/``backoff`` override the task's for this run."""
        return await self.client.enqueue(
            name, owner=owner, request_id=request_id, retries=retries, backoff=backoff, **kwargs
        )

    async def enqueue_many(self, calls: list[TaskCall]) -> list[TaskRun]:
        """Enqueue several runs at once: one INSERT for all, their messages sent together
        after the commit (the event relay's way). Per-owner limits do not apply."""
        return await self.client.enqueue_many(calls)

    async def cancel(self, task_id: uuid.UUID) -> TaskRun:
        """Ask a run to stop: queued runs are cancelled at once, running ones stop at
        their next progress report or cancellation check."""
        return await self.client.cancel(task_id)

    async def run_worker(self, queues: list[str], concurrency: int, stop: asyncio.Event) -> None:
        """Consume ``queues`` until ``stop`` is set, then finish running tasks (or hand
        them back: unacknowledged messages are redelivered after the lease)."""
        await self.worker.run(queues, concurrency, stop)

    async def run_scheduler(self, stop: asyncio.Event) -> None:
        """Enqueue periodic tasks on time. With Redis, a lock per tick lets several
        schedulers run without enqueuing twice."""
        await run_scheduler(self, stop)
