"""``lyo community flush-views``. (``kernel.with_kernel`` is the decorator the
README's plugin guide names for async commands; it is not in ``kernel.__all__``.)"""

from __future__ import annotations

import click

from kernel import Kernel, with_kernel

from . import views


@click.command("flush-views")
@with_kernel
async def flush_views(kernel: Kernel) -> None:
    """Move pending view counts into the database now (the scheduler does it every minute)."""
    click.echo(f"flushed {await views.flush()} discussions")


COMMANDS = [flush_views]
