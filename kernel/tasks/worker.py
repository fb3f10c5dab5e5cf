"""The worker side of tasks: executing runs under a lease, retries, hand-back.

Delivery is at-least-once; execution is once-only per task id: a run takes a lease in
the database (renewed while it runs) before executing, a redelivered message whose run
holds a live lease is left unacknowledged (so it is redelivered again if that worker
dies), and a finished run is never executed again. Retries have real, exponential
delays: a retry is a new message that waits for its time in the worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from taskiq import AsyncBroker, Context  # at run time: taskiq reads the hints
from taskiq.exceptions import NoResultError

from kernel.data.models import TaskRun
from kernel.errors import KernelError, PluginUnavailable
from kernel.identity import Identity, set_identity
from kernel.tasks.broker import make_broker
from kernel.tasks.context import TaskContext
from kernel.tasks.spec import FINISHED, TaskCancelled, TaskSpec
from kernel.tasks.store import as_json, update

if TYPE_CHECKING:
    from kernel.tasks.runtime import Tasks

log = structlog.get_logger("lyo.tasks")


class Worker:
    """Executes runs delivered by a broker (``lyo worker``, or any process with the
    in-memory broker): leases, renewals, retries, hand-back on shutdown."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self.kernel = tasks.kernel
        self.store = tasks.store
        self.lease = tasks.store.lease
        self._running: set[asyncio.Task[Any]] = set()
        #: Runs this process holds a lease on; one loop renews them all (_renew).
        self._leases: set[uuid.UUID] = set()
        self._renewer: asyncio.Task[None] | None = None
        #: The broker consuming in ``lyo worker`` (its messages' idle clocks are renewed
        #: with the leases).
        self._consumer: Any = None

    def bind(self, broker: AsyncBroker, spec: TaskSpec) -> None:
        """Register ``spec`` with ``broker``: its messages run here."""
        from taskiq import TaskiqDepends

        async def run(
            lyo: dict[str, Any],
            kwargs: dict[str, Any],
            context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's injection
        ) -> Any:
            return await self.execute(spec, lyo, kwargs, context)

        broker.register_task(run, task_name=spec.name, ack_type="manual")

    async def run(self, queues: list[str], concurrency: int, stop: asyncio.Event) -> None:
        """:meth:`Tasks.run_worker`."""
        from taskiq.receiver import Receiver

        settings = self.kernel.settings
        broker = make_broker(settings, queues, self.kernel.pipe, self.lease)
        for spec in self.tasks.specs.values():
            self.bind(broker, spec)
        broker.is_worker_process = True
        reaper = self.tasks.reaper
        if hasattr(broker, "on_lost"):
            broker.on_lost = reaper.forget_sends
        await broker.startup()
        self._consumer = broker
        reaping = asyncio.create_task(reaper.run(stop))
        receiver = Receiver(
            broker,
            max_async_tasks=concurrency,
            run_startup=False,
            wait_tasks_timeout=settings.hook_timeout,
            validate_params=False,  # the kernel's own dicts: pydantic would copy them
        )
        try:
            await receiver.listen(stop)
        finally:
            # tasks still running after the grace period are handed back now, while
            # the database is open, rather than lost when the loop closes
            for running in list(self._running):
                running.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            reaping.cancel()
            await asyncio.gather(reaping, return_exceptions=True)
            self._consumer = None
            await broker.shutdown()

    async def stop(self) -> None:
        """Stop renewing leases."""
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None

    async def execute(
        self, spec: TaskSpec, meta: dict[str, Any], kwargs: dict[str, Any], context: Context
    ) -> Any:
        """Run one delivery of a run's message."""
        task_id = uuid.UUID(meta["task_id"])
        not_before = meta.get("not_before")
        if not_before and not_before > time.time():
            await asyncio.sleep(not_before - time.time())
        if not await self.take_lease(task_id):
            run = await TaskRun.get_or_none(id=task_id)
            if run is None or run.status in FINISHED:
                await _ack(context)  # done already (or gone): this delivery is a duplicate
            # running elsewhere: leave the message pending; it returns if that worker dies
            raise NoResultError()  # either way taskiq must not overwrite the run's result
        identity = Identity(
            **{
                **meta["identity"],
                "roles": frozenset(meta["identity"]["roles"]),
                "permissions": frozenset(meta["identity"]["permissions"]),
            }
        )
        set_identity(identity)
        structlog.contextvars.bind_contextvars(
            request_id=meta.get("request_id"), task_id=str(task_id), task=spec.name
        )
        ctx = TaskContext(
            task_id, spec.name, meta["attempt"], identity, meta.get("request_id"), self.kernel
        )
        current = asyncio.current_task()
        if current is not None:
            self._running.add(current)
        outcome: tuple[str, dict[str, Any]] | Exception
        try:
            # a run cancelled while queued never gets here (the lease skips finished
            # runs); later requests are seen at the task's first progress report
            self._check_owner(spec)
            result = await asyncio.wait_for(spec.func(ctx, **kwargs), spec.timeout)
            outcome = ("succeeded", {"result": as_json(result), "percent": 100.0})
        except TaskCancelled:
            outcome = ("cancelled", {"message": "Cancelled by request."})
        except asyncio.CancelledError:
            # the worker is stopping before the task ended: hand the run back (its
            # message stays unacknowledged, so another worker picks it up)
            self._leases.discard(task_id)
            await asyncio.shield(self._hand_back(spec, meta, kwargs, task_id, context))
            raise
        except Exception as exc:
            outcome = exc
        finally:
            # a renewal racing the outcome below changes nothing: it only extends
            # leases of runs still 'running'
            self._leases.discard(task_id)
            self._running.discard(current)  # type: ignore[arg-type]
            structlog.contextvars.unbind_contextvars("request_id", "task_id", "task")
        if isinstance(outcome, Exception):
            retrying = await self._failed(spec, meta, kwargs, task_id, outcome)
            await _ack(context)  # only once the outcome is recorded
            if retrying:
                raise NoResultError()  # the retry's message saves the outcome
            raise outcome  # taskiq's result backend records the failure
        await self.finish(task_id, outcome[0], **outcome[1])
        await _ack(context)
        return outcome[1].get("result")

    def _check_owner(self, spec: TaskSpec) -> None:
        """A task of a plugin that failed or was skipped does not run (it retries)."""
        owner = spec.name.split(":", 1)[0]
        plugin = self.kernel.plugins.get(owner)
        if plugin is not None and plugin.state != "active":
            raise PluginUnavailable(f"plugin {owner!r} is {plugin.state}: {plugin.error}")

    async def _hand_back(
        self,
        spec: TaskSpec,
        meta: dict[str, Any],
        kwargs: dict[str, Any],
        task_id: uuid.UUID,
        context: Context,
    ) -> None:
        """Hand a run back and send it again at once, for another worker to take now
        (not when its unacknowledged message has been idle long enough); if the send
        fails, the reaper sends it."""
        await update(
            task_id, {"status": "queued", "lease_until": None, "sent_at": None}, if_running=True
        )
        log.warning("worker stopping: task handed back", task_id=str(task_id))
        if not self.kernel.settings.redis_url:
            return  # the in-process broker is stopping with this process
        try:
            await self.tasks.client.send(spec, meta, kwargs)
        except Exception as exc:
            log.warning("handed-back task not re-sent; the reaper will", error=repr(exc))
            return
        await _ack(context)

    async def take_lease(self, task_id: uuid.UUID) -> bool:
        """Lease the run (:meth:`RunStore.take_lease`), then renew it while it runs."""
        taken = await self.store.take_lease(task_id)
        if taken:
            self._leases.add(task_id)
            if self._renewer is None or self._renewer.done():
                self._renewer = asyncio.create_task(self._renew())
            # no re-read: subscribers got the full status with their snapshot
            await self.tasks.publish(task_id, {"id": str(task_id), "status": "running"})
        return taken

    async def _renew(self) -> None:
        """Extend the leases of the runs this process executes, every third of a lease:
        one statement for all of them."""
        while True:
            await asyncio.sleep(self.lease / 3)
            if not self._leases:
                continue
            try:
                await self.store.renew(list(self._leases))
            except Exception as exc:  # try again next time, well within the lease
                log.warning("lease renewal failed", error=repr(exc))
                continue
            touch = getattr(self._consumer, "touch", None)
            if touch is not None:
                # their messages' idle clocks too: only a dead worker's go idle
                try:
                    await touch({str(task_id) for task_id in self._leases})
                except Exception as exc:
                    log.warning("stream entries not renewed", error=repr(exc))

    async def _failed(
        self,
        spec: TaskSpec,
        meta: dict[str, Any],
        kwargs: dict[str, Any],
        task_id: uuid.UUID,
        exc: Exception,
    ) -> bool:
        """Record a failed attempt: schedule a retry (``True``) or fail the run."""
        attempt = int(meta["attempt"])
        problem = (
            exc.problem()
            if isinstance(exc, KernelError)
            else {"title": "Task failed", "status": 500, "detail": f"{type(exc).__name__}: {exc}"}
        )
        if isinstance(exc, TimeoutError):
            problem = {
                "title": "Task timed out",
                "status": 504,
                "detail": f"timed out after {spec.timeout} s",
            }
        if attempt <= meta.get("retries", spec.retries):
            # a retry waits in the worker holding its message: keep the wait under the
            # lease, or the message would be reclaimed and wait twice
            delay = min(spec.delay(attempt, meta.get("backoff")), self.lease * 0.8)
            log.warning(
                "task failed; retrying", attempt=attempt, delay=delay, error=problem["detail"]
            )
            retry = {**meta, "attempt": attempt + 1, "not_before": time.time() + delay}
            await update(
                task_id,
                {
                    "status": "queued",
                    "lease_until": None,
                    "message": f"retrying in {delay:g} s: {problem['detail']}",
                    "args": {"lyo": retry, "kwargs": kwargs},
                    "sent_at": None,
                },
            )
            try:
                await self.tasks.client.send(spec, retry, kwargs)
            except Exception as exc:  # the run waits in the database for the reaper
                log.warning("retry not sent; the reaper will", error=repr(exc))
            return True
        log.error("task failed", attempts=attempt, error=problem["detail"])
        if spec.on_failure is not None:
            await spec.on_failure(kwargs, attempt, problem)
        await self.finish(task_id, "failed", problem=problem)
        return False

    async def finish(self, task_id: uuid.UUID, status: str, **values: Any) -> None:
        """Finish the run (:meth:`RunStore.finish`) and publish its snapshot."""
        found = await self.store.finish(task_id, status, values)
        if found:
            await self.tasks.publish(task_id, found)


async def _ack(context: Context) -> None:
    if context.is_ackable:
        await context.ack()
