"""Background tasks on Taskiq, with status, progress, retries, leases and cancellation.

Declare a task with :func:`task` and return it from the ``tasks`` hook; the kernel
registers it with the broker chosen from configuration at start-up (taskiq-redis
streams with ``LYO_REDIS_URL``, an in-process broker otherwise), so ``@broker.task``
at import time is never needed. Each run has a row in ``kernel_task_run``: status,
percent, message, result or problem, readable at ``GET /api/tasks/{id}`` by the
identity that started it and pushed to websocket topic ``task:{id}``.

The parts, by role (as Taskiq's decorator, kicker, receiver and scheduler):

- :mod:`~kernel.tasks.spec`: :func:`task`, :class:`TaskSpec`, the queues;
- :mod:`~kernel.tasks.context`: :class:`TaskContext`, what a running task is handed;
- :mod:`~kernel.tasks.client`: enqueueing, sending, cancelling;
- :mod:`~kernel.tasks.worker`: executing under a lease, retries, hand-back;
- :mod:`~kernel.tasks.reaper`: re-sending runs whose message never left;
- :mod:`~kernel.tasks.scheduler`: periodic tasks;
- :mod:`~kernel.tasks.store`: the SQL of ``kernel_task_run``, shared between runs;
- :mod:`~kernel.tasks.runs`: reading runs (:func:`own_run`, :func:`owned_runs`, :func:`snapshot`);
- :mod:`~kernel.tasks.broker`: the brokers; :mod:`~kernel.tasks.quotas`: per-owner limits;
- :mod:`~kernel.tasks.retention`: the purge of old runs, events and dead letters;
- :mod:`~kernel.tasks.runtime`: :class:`Tasks`, the object the kernel holds, which
  composes them.
"""

from kernel.tasks.broker import stream
from kernel.tasks.client import TaskCall
from kernel.tasks.context import TaskContext
from kernel.tasks.reaper import REAP_GRACE
from kernel.tasks.runs import own_run, owned_runs, snapshot, task_topic
from kernel.tasks.runtime import Tasks
from kernel.tasks.spec import FINISHED, QUEUES, TaskCancelled, TaskSpec, task

__all__ = [
    "FINISHED",
    "QUEUES",
    "REAP_GRACE",
    "TaskCall",
    "TaskCancelled",
    "TaskContext",
    "TaskSpec",
    "Tasks",
    "own_run",
    "owned_runs",
    "snapshot",
    "stream",
    "task",
    "task_topic",
]
