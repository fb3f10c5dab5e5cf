"""``lyo auth create-admin EMAIL [--password [PASSWORD]]``."""

from __future__ import annotations

import click

from kernel import Kernel, KernelError, with_kernel

from . import accounts
from .models import User
from .schemas import normalize_email
from .services import services


@click.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    is_flag=False,
    flag_value="",
    default=None,
    help="Create the account first, with this password (asked for when given no value).",
)
@click.option("--display-name", default=None, help="For a new account (default: the email).")
def create_admin(email: str, password: str | None, display_name: str | None) -> None:
    """Make the account EMAIL an admin; with --password, create it first."""
    try:
        email = normalize_email(email)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    if password == "":
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _create_admin(email, password, display_name)


@with_kernel
async def _create_admin(
    kernel: Kernel, email: str, password: str | None, display_name: str | None
) -> None:
    admin = services().settings.admin_role
    user = await User.get_or_none(email=email)
    try:
        if password is not None:
            if user is not None:
                raise click.ClickException(
                    f"{email} already has an account; run without --password to make it admin"
                )
            user = await accounts.register(email, password, display_name or email.split("@")[0])
            click.echo(f"created {email}")
        elif user is None:
            raise click.ClickException(f"no account for {email}; pass --password to create one")
        await accounts.grant_role(user.id, admin)
    except KernelError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"{email} now has role {admin!r}")
