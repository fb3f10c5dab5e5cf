"""``lyo hello ...``: the plugin's commands (``cli_commands`` hook)."""

from __future__ import annotations

import click

from kernel import Kernel, with_kernel

from .settings import plugin


@click.group("hello")
def hello() -> None:
    """The hello plugin."""


@hello.command("greet")
@click.argument("name")
@with_kernel
async def greet(kernel: Kernel, name: str) -> None:
    """Print the configured greeting for NAME."""
    click.echo(f"{plugin.settings.greeting}, {name}.")
