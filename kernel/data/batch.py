"""Group commit: concurrent calls share one statement or one Redis round trip.

The task path makes several small writes per run (its row in PostgreSQL, the stream
message, the acknowledgement, the result, the status publishes). One at a time, each
costs a round trip (on a virtual machine a send system call alone is tens of
microseconds) and a statement whose fixed cost dwarfs the row; shared, a worker running
ten tasks pays for one.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

log = structlog.get_logger("lyo.redis")

T = TypeVar("T")
R = TypeVar("R")


class Batch(Generic[T, R]):
    """Calls made while a flush is in flight go together in the next one, so concurrent
    callers share it, and a lone call waits for nothing.

    ``flush(items)`` answers each item, in order; an answer that is an exception is
    raised to that item's caller alone. If the whole flush raises, its items are
    retried one by one with ``singly`` (a bad row must fail only its own caller), or all
    fail with that error without (a dead connection fails them all anyway: retrying
    would make every caller wait for its own timeout).

    ``linger`` event-loop turns pass after a flush before the next one takes its items,
    so that the callers the flush answered, which often come straight back (a worker's
    task that was leased comes back to finish), join it rather than wait for the one
    after: with ten tasks in flight, a statement then carries about seven of them, not
    five. It costs no wall time when nothing is ready to run.

    With ``delay`` (for writes nobody waits on) an item waits between half of it and
    all of it (seconds) before its flush, with whatever else came meanwhile: a flush
    takes the items at least ``delay / 2`` old once the oldest is ``delay`` old, so
    statements go at most every ``delay / 2``. :meth:`settle` cuts the wait short.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[list[R]]],
        *,
        singly: bool = True,
        linger: int = 0,
        delay: float = 0.0,
    ):
        self._flush = flush
        self._singly = singly
        self._linger = linger
        self._delay = delay
        self._hurry: asyncio.Event | None = None  # set by settle(): no more delay
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._times: list[float] = []  # with a delay: when each waiting item came
        self._flushing: list[tuple[T, asyncio.Future[R]]] = []  # the group in flight
        # a stack of groups to flush first: a failed group's items, one each, in order
        self._retrying: list[list[tuple[T, asyncio.Future[R]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        return await self.submit(item)

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` for the next flush; the future holds its answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._delay:
            self._times.append(loop.time())
        if self._flusher is None or self._flusher.done():
            if self._delay:
                self._hurry = asyncio.Event()  # of this loop, as the task
            self._flusher = asyncio.create_task(self._run())
        return future

    async def settle(self) -> None:
        """Wait until everything submitted so far has been answered (not what comes
        after: a steady stream of submissions does not keep this waiting)."""
        groups = (self._flushing, *self._retrying, self._waiting)
        pending = [future for group in groups for _, future in group]
        if pending:
            if self._hurry is not None:
                self._hurry.set()
            await asyncio.wait(pending)

    async def _next_group(self, flushed: bool) -> list[tuple[T, asyncio.Future[R]]]:
        """The waiting items to flush next: after ``linger`` loop turns following a
        flush, all of them; with a ``delay``, once the oldest has waited it, those
        half as old (all of them when settling)."""
        for _ in range(self._linger if flushed else 0):
            await asyncio.sleep(0)
        cut: int | None = None  # None: all that wait once the group is taken
        if self._delay and (hurry := self._hurry) is not None:
            loop = asyncio.get_running_loop()
            while not hurry.is_set() and (wait := self._times[0] + self._delay - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hurry.wait(), wait)
            if not hurry.is_set():
                cut = bisect.bisect_right(self._times, loop.time() - self._delay / 2)
            hurry.clear()  # what settle() waits for is in this group or an earlier one
        if cut is None:
            cut = len(self._waiting)
        group, self._waiting = self._waiting[:cut], self._waiting[cut:]
        del self._times[:cut]
        return group

    async def _run(self) -> None:
        groups = self._retrying
        try:
            flushed = False
            while self._waiting or groups:
                if not groups:
                    groups.append(await self._next_group(flushed))
                group = self._flushing = groups.pop()
                flushed = True
                try:
                    answers = await self._flush([item for item, _ in group])
                    if len(answers) != len(group):
                        raise RuntimeError(f"{len(answers)} answers to {len(group)} items")
                except Exception as exc:
                    self._flushing = []
                    if self._singly and len(group) > 1:
                        # retried in their order: a run's finish before its lease
                        groups.extend(reversed([[one] for one in group]))
                        continue
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self._flushing = []
                for (_, future), answer in zip(group, answers, strict=True):
                    if future.done():
                        continue
                    if isinstance(answer, Exception):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:  # cancelled (the loop is closing): nobody may wait forever
            for group in (*groups, self._flushing, self._waiting):
                for _, future in group:
                    future.cancel()
            self._waiting, self._flushing, self._retrying, self._times = [], [], [], []


class RedisPipe:
    """One Redis client whose concurrent commands share pipelined round trips.

    ``await pipe(command)`` answers one command; ``pipe.send(command, done)`` queues it
    without waiting, for writes nobody waits on (an acknowledgement, a status publish),
    which then ride along with the next round trip. A command is a function that adds
    one command to the pipeline it is given: ``lambda p: p.xack(stream, group, id)``.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._batch: Batch[Callable[[Pipeline], object], Any] = Batch(self._flush, singly=False)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 2.0) -> RedisPipe:
        """Short timeouts; one immediate retry replaces a connection Redis closed."""
        return cls(
            Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
            )
        )

    async def __call__(self, command: Callable[[Pipeline], object]) -> Any:
        return await self._batch(command)

    def send(
        self,
        command: Callable[[Pipeline], object],
        done: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """Queue ``command`` without waiting; ``done`` gets its error (``None``: it went
        through). Without ``done`` an error is logged."""

        def report(future: asyncio.Future[Any]) -> None:
            if future.cancelled():  # the loop closed before it went out
                error: BaseException | None = asyncio.CancelledError()
            else:
                error = future.exception()
            if done is not None:
                done(error)
            elif error is not None:
                log.warning("redis command failed", error=f"{type(error).__name__}: {error}")

        self._batch.submit(command).add_done_callback(report)

    async def settle(self) -> None:
        """Wait until everything sent so far has gone out."""
        await self._batch.settle()

    async def close(self) -> None:
        """Flush what was sent, then close the client."""
        await self.settle()
        await self.redis.aclose()

    async def _flush(self, commands: list[Callable[[Pipeline], object]]) -> list[Any]:
        # a command's own error is its answer, for its caller alone: Redis's reply to
        # it, or what building it raised (bad arguments never reach Redis)
        answers: list[Any] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands:
                try:
                    command(pipe)
                    answers.append(None)
                except Exception as exc:
                    answers.append(exc)
            replies = iter(await pipe.execute(raise_on_error=False) if len(pipe) else [])
        return [next(replies) if answer is None else answer for answer in answers]
