"""Tasks of the feeds plugin: none yet. Activities are recorded by the durable event
handlers (which already run as tasks in the worker) and feeds are read on request
(fan-out on read), so nothing else needs a queue."""

from __future__ import annotations

from kernel import TaskSpec

TASKS: tuple[TaskSpec, ...] = ()
