"""A circuit breaker for calls to outside services.

Closed: calls pass and failures are counted. After ``failure_threshold`` failures in
a row it opens: calls fail fast with :class:`CircuitOpen` (a 503 problem). After
``reset_timeout`` seconds it is half-open: one trial call passes; success closes it,
failure opens it again. Breakers made with ``kernel.circuit_breaker`` show their
state in ``/-/plugins``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

from kernel.errors import CircuitOpen

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Use as ``async with breaker:`` around a call, or ``await breaker.call(fn, ...)``."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        expected: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.expected = expected
        self.failures = 0
        self.opened_at: float | None = None
        self.last_error: str | None = None
        self._clock = clock
        self._trial = asyncio.Lock()
        self._holding_trial = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        if self._clock() - self.opened_at >= self.reset_timeout:
            return "half_open"
        return "open"

    def retry_after(self) -> float:
        """Seconds until the next trial call is allowed (0 when closed or half-open)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self.opened_at))

    async def __aenter__(self) -> CircuitBreaker:
        state = self.state
        if state == "open" or (state == "half_open" and self._trial.locked()):
            raise CircuitOpen(
                f"{self.name} is unavailable after {self.failures} failures; "
                f"retrying in {self.retry_after():.0f} s. Last error: {self.last_error}",
                headers={"Retry-After": str(max(1, round(self.retry_after())))},
            )
        if state == "half_open":
            await self._trial.acquire()
            self._holding_trial = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._holding_trial:
            self._holding_trial = False
            self._trial.release()
        if exc is None:
            self.record_success()
        elif isinstance(exc, self.expected):
            self.record_failure(exc)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async with self:
            return await fn(*args, **kwargs)

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self, error: BaseException | str) -> None:
        self.failures += 1
        self.last_error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if self.failures >= self.failure_threshold or self.opened_at is not None:
            self.opened_at = self._clock()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "failures": self.failures,
            "retry_after": round(self.retry_after(), 1),
            "last_error": self.last_error,
        }
