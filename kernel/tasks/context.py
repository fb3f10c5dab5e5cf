"""What a running task is handed: :class:`TaskContext`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel.data.models import TaskRun
from kernel.identity import Identity
from kernel.tasks.spec import TaskCancelled
from kernel.tasks.store import update

if TYPE_CHECKING:
    from kernel.kernel import Kernel


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
            await update(self.id, self._state)
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
