"""``lyo gamification rebuild`` and ``lyo gamification backfill RULE``."""

from __future__ import annotations

import click

from kernel import ConfigError, Kernel, with_kernel

from . import upkeep
from .models import Journal
from .rules import current_rules


@click.command()
@with_kernel
async def rebuild(kernel: Kernel) -> None:
    """Recompute every balance and the current global boards from the ledger (per-course
    boards are rebuilt when next read)."""
    balances = await upkeep.rebuild_balances()
    await upkeep.rebuild_progress()
    built = await upkeep.rebuild_boards()
    click.echo(f"rebuilt {balances} balances and {built} boards from the ledger")


@click.command()
@click.argument("rule")
@with_kernel
async def backfill(kernel: Kernel, rule: str) -> None:
    """Apply RULE to the past events this plugin journaled (idempotent: what was awarded
    stays awarded once)."""
    found = current_rules().rules.get(rule)
    if found is None:
        raise click.ClickException(
            f"no rule {rule!r}: rules are {', '.join(current_rules().rules)}"
        )
    total = await Journal.filter(type=found.event).count()
    try:
        with click.progressbar(length=total, label=f"backfilling {rule}") as bar:
            read, added = await upkeep.backfill(rule, progress=bar.update)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{read} events read, {added} entries added")


COMMANDS = [rebuild, backfill]
