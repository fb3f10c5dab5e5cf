"""A plugin module with a CLI command, loaded with LYO_PLUGINS__MODULES in tests."""

from __future__ import annotations

import click

from kernel import Kernel, Manifest, hookimpl
from kernel.cli import with_kernel


@click.command()
@click.argument("name")
@with_kernel
async def greet(kernel: Kernel, name: str) -> None:
    """Greet NAME from a started kernel."""
    click.echo(f"hello {name} from kernel {kernel.version} ({kernel.plugin('clidemo').state})")


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="clidemo", version="2.0.0")


@hookimpl
def cli_commands() -> list[click.Command]:
    return [greet]
