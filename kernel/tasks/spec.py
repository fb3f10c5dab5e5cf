"""Declaring tasks: :func:`task`, :class:`TaskSpec`, the queues and run states."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kernel.errors import PluginError

QUEUES = ("high", "default", "low")
#: The states a run never leaves.
FINISHED = ("succeeded", "failed", "cancelled")
_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_.-]*$")


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
    #: :mod:`kernel.tasks.quotas` (``LYO_TASK_LIMITS`` overrides it).
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
    once (more are a 429, :mod:`kernel.tasks.quotas`). Keyword arguments must be
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
