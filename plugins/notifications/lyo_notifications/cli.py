"""``lyo notifications ...`` commands."""

from __future__ import annotations

import click

from kernel import Kernel, with_kernel

from . import mail
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


COMMANDS = [test_mail]
