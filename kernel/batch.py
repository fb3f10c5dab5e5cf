"""Group commit: concurrent calls share one statement or one Redis round trip.

The task path makes several small writes per run (its row in PostgreSQL, the stream
message, the acknowledgement, the result, the status publish). One at a time, each
costs a round trip and a statement whose fixed cost dwarfs the row; shared, a worker
running ten tasks pays for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

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
    """

    def __init__(self, flush: Callable[[list[T]], Awaitable[list[R]]], *, singly: bool = True):
        self._flush = flush
        self._singly = singly
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        groups: list[list[tuple[T, asyncio.Future[R]]]] = []
        try:
            while self._waiting or groups:
                if not groups:
                    groups.append(self._waiting)
                    self._waiting = []
                group = groups.pop()
                try:
                    answers = await self._flush([item for item, _ in group])
                except Exception as exc:
                    if self._singly and len(group) > 1:
                        groups.extend([one] for one in group)
                        continue
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), answer in zip(group, answers, strict=True):
                    if future.done():
                        continue
                    if isinstance(answer, Exception):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:  # cancelled (the loop is closing): nobody may wait forever
            for group in (*groups, self._waiting):
                for _, future in group:
                    future.cancel()
            self._waiting = []


async def pipelined(redis: Redis, commands: Callable[[Pipeline], object]) -> list[Any]:
    """The answers to ``commands`` (which queues one command per item on the pipeline)
    in one round trip, for a :class:`Batch` flush: a command's own error is its answer,
    for its caller alone."""
    async with redis.pipeline(transaction=False) as pipe:
        commands(pipe)
        answers: list[Any] = await pipe.execute(raise_on_error=False)
    return answers
