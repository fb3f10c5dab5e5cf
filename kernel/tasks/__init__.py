"""Background tasks on Taskiq, with status, progress, retries, leases and cancellation.

Declare a task with :func:`task` and return it from the ``tasks`` hook; the kernel
registers it with the broker chosen from configuration at start-up (taskiq-redis
streams with ``LYO_REDIS_URL``, an in-process broker otherwise), so ``@broker.task``
at import time is never needed. Each run has a row in ``kernel_task_run``: status,
percent, message, result or problem, readable at ``GET /api/tasks/{id}`` by the
identity that started it and pushed to websocket topic ``task:{id}``.

Delivery is at-least-once; the kernel makes execution once-only per task id:
a run takes a lease in the database (renewed while it runs) before executing, a
redelivered message whose run holds a live lease is left unacknowledged (so it is
redelivered again if that worker dies), and a finished run is never executed again.
Retries have real, exponential delays, owned by the kernel: a retry is a new message
that waits for its time in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from taskiq import AsyncBroker, Context  # at run time: taskiq reads the hints
from taskiq.exceptions import NoResultError
from tortoise import BaseDBAsyncClient
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import F, Q

from kernel.data.batch import Batch
from kernel.data.db import current_transaction, orm_errors
from kernel.data.models import TaskRun
from kernel.errors import KernelError, PluginError, ServiceUnavailable
from kernel.identity import ANONYMOUS, Identity, set_identity

if TYPE_CHECKING:
    from kernel.kernel import Kernel

log = structlog.get_logger("lyo.tasks")

QUEUES = ("high", "default", "low")
#: Seconds a queued run may go without an accepted send before the reaper sends it.
REAP_GRACE = 5.0
FINISHED = ("succeeded", "failed", "cancelled")
_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_.-]*$")


#: One run to enqueue: task, owner, request id, retries, backoff, the task's arguments.
_Call = tuple["TaskSpec", Identity | None, str | None, int | None, float | None, dict[str, Any]]


def stream(prefix: str, queue: str) -> str:
    """The Redis stream of a queue."""
    return f"{prefix}:tasks:{queue}"


class TaskCancelled(Exception):
    """Raised inside a task by :meth:`TaskContext.check_cancelled`."""


@dataclass
class TaskSpec:
    """A declared task. Call :meth:`Tasks.enqueue` (``kernel.tasks.enqueue``) to run it."""

    name: str
    func: Callable[..., Awaitable[Any]]
    queue: str = "default"
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0
    timeout: float | None = None
    kind: str = "task"
    every: float | None = None
    #: Awaited with (kwargs, attempts, problem) when the last try has failed.
    on_failure: Callable[[dict[str, Any], int, dict[str, Any]], Awaitable[None]] | None = None
    #: Runs one owner may have queued or running at once (``None``: no limit); see
    #: :mod:`kernel.quotas` (``LYO_TASK_LIMITS`` overrides it).
    max_per_owner: int | None = None

    def delay(self, attempt: int, backoff: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): exponential."""
        base = self.backoff if backoff is None else backoff
        return float(min(self.max_backoff, base * 2 ** (attempt - 1)))


def task(
    name: str,
    *,
    queue: str = "default",
    retries: int = 3,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    timeout: float | None = None,
    kind: str | None = None,
    every: float | None = None,
    max_per_owner: int | None = None,
) -> Callable[[Callable[..., Awaitable[Any]]], TaskSpec]:
    """Declare ``async def fn(ctx: TaskContext, **kwargs)`` as task ``<plugin>:<name>``.

    ``retries`` more tries after a failure, ``backoff * 2**n`` seconds apart (at most
    ``max_backoff``); ``timeout`` seconds per try; ``every`` seconds makes it periodic
    (run by ``lyo scheduler``); ``max_per_owner`` runs per owner queued or running at
    once (more are a 429, :mod:`kernel.quotas`). Keyword arguments must be
    JSON-serialisable.
    """
    if not _NAME.match(name):
        raise PluginError(f"task name {name!r} must look like '<plugin>:<name>'")
    if queue not in QUEUES:
        raise PluginError(f"task {name!r}: queue must be one of {', '.join(QUEUES)}")

    def declare(func: Callable[..., Awaitable[Any]]) -> TaskSpec:
        return TaskSpec(
            name,
            func,
            queue,
            retries,
            backoff,
            max_backoff,
            timeout,
            kind or "task",
            every,
            max_per_owner=max_per_owner,
        )

    return declare


@dataclass
class TaskContext:
    """Handed to a running task: its id, owner, progress and cancellation."""

    id: uuid.UUID
    name: str
    attempt: int
    identity: Identity
    request_id: str | None
    kernel: Kernel
    min_interval: float = 0.25
    _last_write: float = 0.0
    _cancel_checked: float = 0.0
    _state: dict[str, Any] = field(default_factory=dict)

    async def progress(
        self, percent: float | None = None, message: str | None = None, **data: Any
    ) -> None:
        """Report progress: every update goes to topic ``task:{id}``; database writes are
        throttled to a few per second. Also checks for cancellation."""
        if percent is not None:
            self._state["percent"] = max(0.0, min(100.0, float(percent)))
        if message is not None:
            self._state["message"] = message
        if data:
            self._state["progress"] = {**self._state.get("progress", {}), **data}
        await self.kernel.tasks.publish(self.id, {"status": "running", **self._state})
        now = time.monotonic()
        if now - self._last_write >= self.min_interval:
            self._last_write = now
            await _update(self.id, self._state)
        await self.check_cancelled()

    async def check_cancelled(self, *, force: bool = False) -> None:
        """Raise :class:`TaskCancelled` if the owner asked to cancel (checked at most a
        few times per second, so call it often; ``force=True`` checks now, for a last
        chance before an effect that cannot be undone)."""
        now = time.monotonic()
        if not force and now - self._cancel_checked < self.min_interval:
            return
        self._cancel_checked = now
        if await TaskRun.filter(id=self.id, cancel_requested=True).exists():
            raise TaskCancelled()


class Tasks:
    """The kernel's task machinery (``kernel.tasks``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.specs: dict[str, TaskSpec] = {}
        self.lease = kernel.settings.task_lease
        self._running: set[asyncio.Task[Any]] = set()
        #: Runs this process holds a lease on; one loop renews them all (_renew).
        self._leases: set[uuid.UUID] = set()
        self._renewer: asyncio.Task[None] | None = None
        # PostgreSQL: concurrent runs share their statements (see kernel.batch)
        self._inserts = Batch(_insert_many)
        # accepted sends are recorded together (not awaited by the sender)
        self._sends: Batch[uuid.UUID, None] = Batch(self._mark_sent, singly=False, linger=2)
        #: The broker consuming in ``lyo worker`` (its messages' idle clocks are renewed
        #: with the leases).
        self._consumer: Any = None
        # a worker's leases and finishes go together: one statement per round
        self._rows: Batch[tuple[str, Any], Any] = Batch(self._write_rows, linger=2)
        self.broker: AsyncBroker = self._make_broker(QUEUES)
        self._hub_publish: Callable[[str, dict[str, Any]], object] | None = None

    # -- set-up ----------------------------------------------------------------------

    def _make_broker(self, queues: tuple[str, ...] | list[str]) -> AsyncBroker:
        settings = self.kernel.settings
        if not settings.redis_url:
            from taskiq import InMemoryBroker

            return InMemoryBroker(max_async_tasks=settings.worker_concurrency)
        from kernel.tasks.broker import PipelinedResultBackend, ReclaimingStreamBroker

        # taskiq's Redis result backend keeps each run's outcome for a day under the
        # run's id (kernel_task_run stays the record owners read)
        results = PipelinedResultBackend(
            settings.redis_url,
            result_ex_time=86400,
            prefix_str=f"{settings.redis_prefix}:result",
            pipe=self.kernel.pipe,
        )
        first, *rest = queues
        return ReclaimingStreamBroker(
            settings.redis_url,
            queue_name=stream(settings.redis_prefix, first),
            additional_streams={stream(settings.redis_prefix, q): ">" for q in rest},
            consumer_group_name="lyo",
            consumer_id="0",
            xread_block=1000,
            # live runs' entries are renewed with their leases (Tasks._renew), so an
            # entry idle past the lease (and a margin for clocks) is a dead worker's
            idle_timeout=int((self.lease + 2) * 1000),
            unacknowledged_lock_timeout=5,
            pipe=self.kernel.pipe,
        ).with_result_backend(results)

    def register(self, spec: TaskSpec, owner: str) -> None:
        if not spec.name.startswith(owner + ":") and owner != "kernel":
            raise PluginError(f"plugin {owner!r} declares task {spec.name!r}; use '{owner}:...'")
        if spec.name in self.specs:
            raise PluginError(f"task {spec.name!r} is declared twice")
        self.specs[spec.name] = spec
        self._register_with(self.broker, spec)

    def _register_with(self, broker: AsyncBroker, spec: TaskSpec) -> None:
        from taskiq import TaskiqDepends

        async def run(
            lyo: dict[str, Any],
            kwargs: dict[str, Any],
            context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's injection
        ) -> Any:
            return await self._execute(spec, lyo, kwargs, context)

        broker.register_task(run, task_name=spec.name, ack_type="manual")

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
            await asyncio.wait_for(self._sends.settle(), 2)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
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

    # -- client side -----------------------------------------------------------------

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
        spec = self.specs[name if isinstance(name, str) else name.name]
        call = (spec, owner, request_id, retries, backoff, kwargs)
        limit = self.kernel.settings.task_limits.get(spec.name, spec.max_per_owner)
        if limit is not None and owner is not None and owner.id is not None:
            from kernel.tasks.quotas import owner_slot

            async with owner_slot(spec.name, owner.id, limit):  # 429 over the limit
                [run] = await self._enqueue([call])
            return run
        [run] = await self._enqueue([call])
        return run

    async def _enqueue(self, calls: list[_Call]) -> list[TaskRun]:
        """:meth:`enqueue` for several runs at once: one INSERT for all, their messages
        sent together after the commit (the event relay's way)."""
        from kernel.data.db import after_commit

        if not calls:
            return []
        sends: list[tuple[TaskSpec, dict[str, Any], dict[str, Any]]] = []
        rows: list[dict[str, Any]] = []
        for spec, owner, request_id, retries, backoff, kwargs in calls:
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
        runs = await self._insert(rows)
        if current_transaction() is not None:
            # the message leaves after the commit; if it cannot, the run waits in the
            # database (sent_at null) and a worker's reaper sends it
            if len(sends) == 1:
                await after_commit(lambda: self._kick(*sends[0]))
            else:
                await after_commit(lambda: self._kick_all(sends))
            return runs
        try:
            if len(sends) == 1:
                await self._kick(*sends[0])
            else:
                await self._kick_all(sends)
        except Exception as exc:
            # the caller hears that nothing will run: the runs not sent are cancelled
            # (never left for the reaper to start behind the caller's back)
            await self._unsent([meta["task_id"] for _, meta, _ in sends])
            raise ServiceUnavailable(
                "The task queue is unavailable; retry shortly.", headers={"Retry-After": "5"}
            ) from exc
        return runs

    async def _unsent(self, task_ids: list[str]) -> None:
        log.error("task messages not sent; runs cancelled", task_ids=task_ids)
        await TaskRun.filter(id__in=task_ids, status="queued", sent_at__isnull=True).update(
            status="cancelled",
            finished_at=_now(),
            updated_at=_now(),
            message="Not sent: the task queue was unavailable.",
        )

    async def _kick_all(self, sends: list[tuple[TaskSpec, dict[str, Any], dict[str, Any]]]) -> None:
        """Send several messages (sharing pipelined round trips); every failure is
        logged with its run, and the first is raised once all have been tried."""
        sent = await asyncio.gather(*(self._kick(*send) for send in sends), return_exceptions=True)
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

    async def _kick(
        self, spec: TaskSpec, meta: dict[str, Any], kwargs: dict[str, Any], *, mark: bool = True
    ) -> None:
        found = self.broker.find_task(spec.name)
        assert found is not None
        await (
            found.kicker()
            .with_labels(queue_name=stream(self.kernel.settings.redis_prefix, spec.queue))
            .with_task_id(str(meta["task_id"]))  # taskiq's result is kept under the run's id
            .kiq(lyo=meta, kwargs=kwargs)
        )
        if mark and self.kernel.settings.redis_url:
            # not awaited: shared with concurrent sends, one statement; if it is lost
            # the reaper sends the message again, which the lease makes harmless
            self._sends.submit(uuid.UUID(str(meta["task_id"]))).add_done_callback(_marked)

    async def _mark_sent(self, task_ids: list[uuid.UUID]) -> list[None]:
        """Record that the broker accepted these runs' messages (one statement)."""
        now = _now()
        if _postgres() is None:
            await TaskRun.filter(id__in=task_ids, sent_at__isnull=True).update(sent_at=now)
        else:
            async with _pool().acquire_connection() as connection, orm_errors():
                await connection.execute(_SENT, task_ids, now)
        return [None] * len(task_ids)

    async def reap(self, grace: float = REAP_GRACE, limit: int = 100) -> int:
        """Send the messages of queued runs that never left (no accepted send for
        ``grace`` seconds: a crash after the commit, a send that failed, a lost Redis).
        Rows are taken ``FOR UPDATE SKIP LOCKED``: one worker sends a given run. A run
        whose message was accepted (``sent_at``) is never sent again here, however long
        it waits in its queue. Returns how many were sent."""
        db = _postgres()
        if db is None or not self.kernel.settings.redis_url:
            return 0
        from kernel.data.db import transaction

        sent: list[uuid.UUID] = []
        async with transaction() as connection, connection.acquire_connection() as raw:
            async with orm_errors():
                rows = await raw.fetch(_REAP, _now() - timedelta(seconds=grace), limit)
            for row in rows:
                spec = self.specs.get(row["name"])
                args = orjson.loads(row["args"])
                if spec is None:
                    log.warning("run of an unknown task not re-sent", task=row["name"])
                    continue
                try:
                    await self._kick(spec, args["lyo"], args["kwargs"], mark=False)
                except Exception as exc:
                    log.warning("reaper could not send; retrying later", error=repr(exc))
                    break
                sent.append(row["id"])
            if sent:
                async with orm_errors():
                    await raw.execute(_SENT, sent, _now())
        if sent:
            log.warning("reaper sent runs whose message had not left", count=len(sent))
        return len(sent)

    async def forget_sends(self, before: datetime) -> int:
        """Redis lost its streams (it came back empty): runs still queued whose message
        was accepted before ``before`` are marked unsent, for the reaper to send."""
        if _postgres() is None:
            return 0
        count = await TaskRun.filter(status="queued", sent_at__lt=before).update(sent_at=None)
        if count:
            log.warning("redis lost queued messages; they will be sent again", count=count)
        return count

    async def _reaper(self, stop: asyncio.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            try:
                while await self.reap() >= 100:
                    pass
            except Exception as exc:  # the database or Redis is away: next round
                log.warning("reaper round failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def cancel(self, task_id: uuid.UUID) -> TaskRun:
        """Ask a run to stop: queued runs are cancelled at once, running ones stop at
        their next progress report or cancellation check."""
        await TaskRun.filter(id=task_id).update(cancel_requested=True)
        await TaskRun.filter(id=task_id, status="queued").update(
            status="cancelled", finished_at=_now()
        )
        run = await TaskRun.get(id=task_id)
        await self.publish(task_id, snapshot(run))
        return run

    # -- worker side -----------------------------------------------------------------

    async def _execute(
        self, spec: TaskSpec, meta: dict[str, Any], kwargs: dict[str, Any], context: Context
    ) -> Any:
        task_id = uuid.UUID(meta["task_id"])
        not_before = meta.get("not_before")
        if not_before and not_before > time.time():
            await asyncio.sleep(not_before - time.time())
        if not await self._take_lease(task_id):
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
            outcome = ("succeeded", {"result": _json(result), "percent": 100.0})
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
        await self._finish(task_id, outcome[0], **outcome[1])
        await _ack(context)
        return outcome[1].get("result")

    def _check_owner(self, spec: TaskSpec) -> None:
        """A task of a plugin that failed or was skipped does not run (it retries)."""
        owner = spec.name.split(":", 1)[0]
        plugin = self.kernel.plugins.get(owner)
        if plugin is not None and plugin.state != "active":
            from kernel.errors import PluginUnavailable

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
        await _update(
            task_id, {"status": "queued", "lease_until": None, "sent_at": None}, if_running=True
        )
        log.warning("worker stopping: task handed back", task_id=str(task_id))
        if not self.kernel.settings.redis_url:
            return  # the in-process broker is stopping with this process
        try:
            await self._kick(spec, meta, kwargs)
        except Exception as exc:
            log.warning("handed-back task not re-sent; the reaper will", error=repr(exc))
            return
        await _ack(context)

    async def _insert(self, runs: list[dict[str, Any]]) -> list[TaskRun]:
        """Record queued runs: in the current transaction if there is one, else in a
        statement shared with concurrent enqueues."""
        db = _postgres()
        if db is None or any(  # too long for its column: the ORM says so, to this caller
            len(values[name] or "") > TaskRun._meta.fields_map[name].max_length  # type: ignore[attr-defined]
            for values in runs
            for name in _TEXT
        ):
            if len(runs) == 1:
                return [await TaskRun.create(**runs[0])]
            from kernel.data.db import transaction

            async with transaction():  # all or none, as the shared INSERT
                return [await TaskRun.create(**values) for values in runs]
        rows = [
            (*(values[name] for name in ("id", *_TEXT)), _jsonb(values.get("args")))
            for values in runs
        ]
        if isinstance(db, TransactionalDBClient):
            nows = await _insert_many(rows, db)  # leaves with the caller's commit
        elif len(rows) == 1:
            nows = [await self._inserts(rows[0])]
        else:
            nows = await _insert_many(rows)
        return [
            TaskRun.construct(
                _saved_in_db=True,
                **values,
                status="queued",
                percent=0.0,
                attempts=0,
                cancel_requested=False,
                created_at=now,
                updated_at=now,
            )
            for values, now in zip(runs, nows, strict=True)
        ]

    async def _take_lease(self, task_id: uuid.UUID) -> bool:
        """Lease the run and mark it running in one statement (a kill cannot split the
        attempt count from the lease); then renew it while it runs."""
        if _postgres() is not None:
            taken = await self._rows(("lease", task_id))
        else:
            now = _now()
            until = now + timedelta(seconds=self.lease)
            taken = bool(
                await TaskRun.filter(
                    Q(id=task_id),
                    ~Q(status__in=FINISHED),
                    Q(lease_until__isnull=True) | Q(lease_until__lt=now),
                ).update(
                    status="running",
                    lease_until=until,
                    started_at=now,
                    updated_at=now,
                    attempts=F("attempts") + 1,
                )
            )
        if taken:
            self._leases.add(task_id)
            if self._renewer is None or self._renewer.done():
                self._renewer = asyncio.create_task(self._renew())
            # no re-read: subscribers got the full status with their snapshot
            await self.publish(task_id, {"id": str(task_id), "status": "running"})
        return taken

    async def _write_rows(self, items: list[tuple[str, Any]]) -> list[Any]:
        """Leases (answer: taken or not) and finishes (answer: the run's snapshot, ``{}``
        if it was purged) of concurrent runs, in one statement."""
        leases = [task_id for kind, task_id in items if kind == "lease"]
        finishes = [
            (
                task_id,
                status,
                _jsonb(values.get("result")),
                _jsonb(values.get("problem")),
                values.get("percent"),
                values.get("message"),
            )
            for kind, (task_id, status, values) in (i for i in items if i[0] == "finish")
        ]
        now = _now()
        async with _pool().acquire_connection() as connection, orm_errors():
            rows = await connection.fetch(
                _ROWS,
                leases,
                now + timedelta(seconds=self.lease),
                now,
                *(_columns(finishes) if finishes else [[]] * 6),
            )
        taken = set(rows[0]["leased"] or ())
        found = {str(row["id"]): _row_snapshot(row) for row in rows if row["id"] is not None}
        answers: list[Any] = []
        for kind, item in items:
            if kind == "lease":  # a run twice in one round (a redelivery) is taken once
                answers.append(str(item) in taken)
                taken.discard(str(item))
            else:
                answers.append(found.get(str(item[0]), {}))
        return answers

    async def _renew(self) -> None:
        """Extend the leases of the runs this process executes, every third of a lease:
        one statement for all of them."""
        while True:
            await asyncio.sleep(self.lease / 3)
            if not self._leases:
                continue
            try:
                await TaskRun.filter(id__in=list(self._leases), status="running").update(
                    lease_until=_now() + timedelta(seconds=self.lease)
                )
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
            await _update(
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
                await self._kick(spec, retry, kwargs)
            except Exception as exc:  # the run waits in the database for the reaper
                log.warning("retry not sent; the reaper will", error=repr(exc))
            return True
        log.error("task failed", attempts=attempt, error=problem["detail"])
        if spec.on_failure is not None:
            await spec.on_failure(kwargs, attempt, problem)
        await self._finish(task_id, "failed", problem=problem)
        return False

    async def _finish(self, task_id: uuid.UUID, status: str, **values: Any) -> None:
        if _postgres() is not None:
            found = await self._rows(("finish", (task_id, status, values)))
        else:
            values = {"status": status, "finished_at": _now(), "lease_until": None, **values}
            found = await _update(task_id, values, returning=True)
        if found:
            await self.publish(task_id, found)

    async def run_worker(self, queues: list[str], concurrency: int, stop: asyncio.Event) -> None:
        """Consume ``queues`` until ``stop`` is set, then finish running tasks (or hand
        them back: unacknowledged messages are redelivered after the lease)."""
        from taskiq.receiver import Receiver

        broker = self._make_broker(queues)
        for spec in self.specs.values():
            self._register_with(broker, spec)
        broker.is_worker_process = True
        if hasattr(broker, "on_lost"):
            broker.on_lost = self.forget_sends
        await broker.startup()
        self._consumer = broker
        reaper = asyncio.create_task(self._reaper(stop))
        receiver = Receiver(
            broker,
            max_async_tasks=concurrency,
            run_startup=False,
            wait_tasks_timeout=self.kernel.settings.hook_timeout,
        )
        try:
            await receiver.listen(stop)
        finally:
            # tasks still running after the grace period are handed back now, while
            # the database is open, rather than lost when the loop closes
            for running in list(self._running):
                running.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
            self._consumer = None
            await broker.shutdown()

    async def run_scheduler(self, stop: asyncio.Event) -> None:
        """Enqueue periodic tasks on time. With Redis, a lock per tick lets several
        schedulers run without enqueuing twice."""
        periodic = [s for s in self.specs.values() if s.every]
        due = {s.name: time.time() for s in periodic}
        redis = None
        if self.kernel.settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(self.kernel.settings.redis_url)
        try:
            while not stop.is_set():
                now = time.time()
                for spec in periodic:
                    if now >= due[spec.name]:
                        tick = int(now // spec.every)  # type: ignore[operator]
                        try:
                            if redis is None or await redis.set(
                                f"{self.kernel.settings.redis_prefix}:tick:{spec.name}:{tick}",
                                1,
                                nx=True,
                                ex=int(spec.every or 1) + 60,
                            ):
                                await self.enqueue(
                                    spec, owner=Identity(id="scheduler", kind="service")
                                )
                        except Exception as exc:  # Redis or the database is away: retry
                            log.warning(
                                "periodic task not enqueued", task=spec.name, error=repr(exc)
                            )
                            continue
                        due[spec.name] = (tick + 1) * spec.every  # type: ignore[operator]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            if redis is not None:
                await redis.aclose()


async def own_run(task_id: uuid.UUID | str, identity: Identity) -> TaskRun:
    """The run ``task_id`` if ``identity`` started it (or may do anything); another
    owner's run is as good as missing: :class:`kernel.NotFound`."""
    from kernel.errors import NotFound

    try:
        run = await TaskRun.get_or_none(id=uuid.UUID(str(task_id)))
    except ValueError:
        run = None
    if run is None or not (identity.has("*") or (run.owner_id and run.owner_id == identity.id)):
        raise NotFound("No such task.")
    return run


async def task_topic(identity: Identity, topic: str) -> dict[str, Any]:
    """Authorizes websocket topic ``task:{id}`` for its owner; the snapshot is the
    current status, so a task that finishes fast is never missed."""
    return snapshot(await own_run(topic.removeprefix("task:"), identity))


def snapshot(run: TaskRun) -> dict[str, Any]:
    """What clients see of a run (``GET /api/tasks/{id}``, websocket snapshots)."""
    return _snapshot({name: getattr(run, name) for name in _SNAPSHOT})


#: A run's columns that clients see, in this order.
_SNAPSHOT = (
    *("id", "name", "kind", "status", "percent", "message", "progress", "result", "problem"),
    *("attempts", "created_at", "started_at", "finished_at"),
)
_JSON = frozenset({"progress", "result", "problem"})


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    for name in ("created_at", "started_at", "finished_at"):
        if values[name] is not None:
            values[name] = values[name].isoformat()
    values["id"] = str(values["id"])
    return values


# -- the run's row -----------------------------------------------------------------------
#
# On PostgreSQL the statements of a task's life are plain SQL on the ORM's connection
# (the current transaction's inside one): a Tortoise queryset costs several times the
# statement it sends, and a task makes two or three of them. SQLite (development) keeps
# the ORM.

_TEXT = ("name", "kind", "queue", "owner_id", "request_id")
_INSERT = (
    "INSERT INTO kernel_task_run (id, name, kind, queue, owner_id, request_id, args, status, "
    "percent, attempts, cancel_requested, created_at, updated_at) "
    "SELECT *, 'queued', 0, 0, false, $8::timestamptz, $8::timestamptz FROM unnest($1::uuid[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])"
)
_SENT = "UPDATE kernel_task_run SET sent_at = $2 WHERE id = ANY($1::uuid[]) AND sent_at IS NULL"
# queued runs whose message never left, oldest first, each taken by one worker
_REAP = (
    "SELECT id, name, args::text AS args FROM kernel_task_run WHERE status = 'queued' "
    "AND sent_at IS NULL AND args IS NOT NULL AND updated_at < $1 "
    "ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
# leases and finishes of a worker's concurrent runs in one statement; a run being
# finished is never leased in the same one (an UPDATE may not touch a row twice)
_ROWS = (
    "WITH leased AS (UPDATE kernel_task_run SET status = 'running', lease_until = $2, "
    "started_at = $3, updated_at = $3, attempts = attempts + 1 WHERE id = ANY($1::uuid[]) "
    "AND id <> ALL($4::uuid[]) AND status NOT IN ('succeeded', 'failed', 'cancelled') "
    "AND (lease_until IS NULL OR lease_until < $3) RETURNING id::text), "
    # only what is given changes: a success keeps the last progress message
    "finished AS (UPDATE kernel_task_run AS r SET status = v.status, finished_at = $3, "
    "updated_at = $3, lease_until = NULL, result = COALESCE(v.result, r.result), "
    "problem = COALESCE(v.problem, r.problem), percent = COALESCE(v.percent, r.percent), "
    "message = COALESCE(v.message, r.message) "
    "FROM unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::float8[], $9::text[]) "
    "AS v(id, status, result, problem, percent, message) WHERE r.id = v.id "
    f"RETURNING {', '.join('r.' + name for name in _SNAPSHOT)}) "
    # one row per finished run (at least one row), each with all the leased ids
    "SELECT (SELECT array_agg(id) FROM leased) AS leased, f.* "
    "FROM (SELECT) AS one LEFT JOIN finished AS f ON true"
)
_updates: dict[tuple[tuple[str, ...], bool, bool], str] = {}


def _postgres() -> BaseDBAsyncClient | None:
    """The connection for the run table if it is PostgreSQL (a transaction's inside one)."""
    db: BaseDBAsyncClient = TaskRun._meta.db
    return db if db.capabilities.dialect == "postgres" else None


def _pool() -> BaseDBAsyncClient:
    """The pooled connection, never the caller's transaction: statements shared between
    tasks run outside any one of them."""
    db: BaseDBAsyncClient = TaskRun._meta.db
    while isinstance(db, TransactionalDBClient):
        db = db._parent  # type: ignore[attr-defined]
    return db


async def _insert_many(
    rows: list[tuple[Any, ...]], db: BaseDBAsyncClient | None = None
) -> list[datetime]:
    now = _now()
    async with (db or _pool()).acquire_connection() as connection, orm_errors():
        await connection.execute(_INSERT, *_columns(rows), now)
    return [now] * len(rows)


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as columns: the arrays ``unnest`` turns back into rows."""
    return [list(column) for column in zip(*rows, strict=True)]


async def _update(
    task_id: uuid.UUID, values: dict[str, Any], *, if_running: bool = False, returning: bool = False
) -> dict[str, Any]:
    """Set ``values`` on run ``task_id`` (only while it is running, with ``if_running``);
    with ``returning``, the run's snapshot afterwards, else ``{}``."""
    values = {**values, "updated_at": _now()}
    db = _postgres()
    if db is None:
        where = {"status": "running"} if if_running else {}
        await TaskRun.filter(id=task_id, **where).update(**values)
        return snapshot(await TaskRun.get(id=task_id)) if returning else {}
    columns = tuple(values)
    sql = _updates.get((columns, if_running, returning))
    if sql is None:
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, 2))
        sql = f"UPDATE kernel_task_run SET {sets} WHERE id = $1"
        sql += " AND status = 'running'" if if_running else ""
        sql += f" RETURNING {', '.join(_SNAPSHOT)}" if returning else ""
        _updates[(columns, if_running, returning)] = sql
    args = [_jsonb(v) if k in _JSON or k == "args" else v for k, v in values.items()]
    async with db.acquire_connection() as connection, orm_errors():
        if not returning:
            await connection.execute(sql, task_id, *args)
            return {}
        row = await connection.fetchrow(sql, task_id, *args)
    return _row_snapshot(row) if row is not None else {}  # None: purged meanwhile


def _row_snapshot(row: Any) -> dict[str, Any]:
    found = {name: row[name] for name in _SNAPSHOT}
    for name in _JSON:
        if found[name] is not None:
            found[name] = orjson.loads(found[name])
    return _snapshot(found)


def _jsonb(value: Any) -> str | None:
    """A value for a jsonb parameter: JSON text (a ``str`` already is, as for Tortoise)."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _json(value: Any) -> Any:
    """A task result as stored in a JSON column (Tortoise takes a ``str`` for JSON text)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    value = orjson.loads(orjson.dumps(value, default=str))
    return orjson.dumps(value).decode() if isinstance(value, str) else value


def _marked(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("accepted send not recorded", error=repr(future.exception()))


async def _ack(context: Context) -> None:
    if context.is_ackable:
        await context.ack()


def _now() -> datetime:
    return datetime.now(UTC)


def _request_id() -> str | None:
    ctx = structlog.contextvars.get_contextvars()
    value = ctx.get("request_id")
    return str(value) if value else None
