"""Running code with a kernel from a command: ``with_kernel`` for one-shot commands
(plugins' own included), ``run_until_signalled`` for the long-running ones."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

import click

from kernel.kernel import Kernel

P = ParamSpec("P")
R = TypeVar("R")


def with_kernel(
    func: Callable[Concatenate[Kernel, P], Awaitable[R]],
) -> Callable[P, R]:
    """Run an async CLI command with a loaded, started kernel as its first argument.

    Put it below click's decorators::

        @click.command()
        @click.argument("email")
        @with_kernel
        async def create_admin(kernel: Kernel, email: str) -> None: ...
    """

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        async def run() -> R:
            kernel = Kernel.load()
            await kernel.start()
            try:
                return await func(kernel, *args, **kwargs)
            finally:
                await kernel.stop()

        return asyncio.run(run())

    return command


def with_kernel_loaded(
    func: Callable[Concatenate[Kernel, P], Awaitable[R]],
) -> Callable[P, R]:
    """Like :func:`with_kernel`, but the kernel is only loaded: no database opened, no
    plugin started (for commands that manage the database itself)."""

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(func(Kernel.load(), *args, **kwargs))  # type: ignore[arg-type]

    return command


def run_until_signalled(
    work: Callable[[Kernel, asyncio.Event], Awaitable[None]], queues: Sequence[str] = ()
) -> None:
    """Start a kernel (a worker of ``queues``, if any), run ``work`` until SIGTERM/SIGINT,
    then stop gracefully."""
    import signal

    async def run() -> None:
        kernel = Kernel.load()
        kernel.worker_queues = tuple(queues)
        if not kernel.settings.redis_url:
            raise click.ClickException(
                "workers need LYO_REDIS_URL; with the in-memory broker (development) tasks "
                "run inside the API process"
            )
        await kernel.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await work(kernel, stop)
        finally:
            await kernel.stop()

    asyncio.run(run())
