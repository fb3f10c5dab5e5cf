"""``lyo notifications ...`` commands."""

from __future__ import annotations

import json
from typing import BinaryIO

import click

from kernel import Kernel, with_kernel

from . import bounces, mail
from .settings import plugin


@click.command("test-mail")
@click.argument("address")
@with_kernel
async def test_mail(kernel: Kernel, address: str) -> None:
    """Send a test mail to ADDRESS through the configured SMTP server."""
    message = mail.compose(
        "notification",
        plugin.settings.fallback_locale,
        address,
        {"title": "Test", "body": "SMTP works.", "category": "account", "unsubscribe_url": "-"},
    )
    sent = await mail.send(message)
    click.echo(f"sent: {sent.message_id}")


@click.command("bounce")
@click.argument("message", type=click.File("rb"), default="-")
@with_kernel
async def bounce(kernel: Kernel, message: BinaryIO) -> None:
    """Process a bounce (a DSN mail) read from MESSAGE or standard input: hard bounces
    disable the address. For a Postfix pipe transport or procmail on the bounce mailbox."""
    click.echo(json.dumps(await bounces.process(message.read())))


COMMANDS = [test_mail, bounce]
