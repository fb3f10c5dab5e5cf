"""The ``auth`` plugin: accounts, JWT sessions, RBAC, profiles, brute-force protection.

Found through its ``lyo.plugins`` entry point; built only on the kernel's public API.
Other plugins never import it: they read ``kernel.current_identity()`` (id, roles,
permissions), guard routes with ``@kernel.require("learning:write")`` and subscribe to
its events by type string.
"""

from __future__ import annotations

import click
from pydantic import BaseModel
from quart import Blueprint

from kernel import Credentials, HealthCheck, Identity, Kernel, Manifest, hookimpl

from . import routes, services, users
from .cli import create_admin
from .services import started
from .sessions import identity_for
from .settings import NAME, AuthSettings

__version__ = "0.1.0"

PERMISSIONS = {  # admins have them through "*"
    "auth:users.read": "List user accounts with their email addresses and roles.",
    "auth:admin": "Grant and remove roles, deactivate accounts.",
}


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        kernel=">=0.1,<0.2",
        description="Accounts, JWT sessions, roles and permissions, profiles.",
        url_prefixes=["/api/users"],
    )


@hookimpl
def settings_model() -> type[BaseModel]:
    return AuthSettings


@hookimpl
def models() -> list[str]:
    return ["lyo_auth.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [routes.bp, routes.users_bp]


@hookimpl
def permissions() -> dict[str, str]:
    return PERMISSIONS


@hookimpl
def cli_commands() -> list[click.Command]:
    return [create_admin]


@hookimpl
async def startup(kernel: Kernel) -> None:
    await services.start(kernel)


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    await services.stop(kernel)


@hookimpl
def health_checks(kernel: Kernel) -> list[HealthCheck]:
    async def rate_limits() -> bool:
        current = started()
        return current is not None and bool(await current.throttle.storage.check())

    return [HealthCheck("rate-limits", rate_limits, required=False)]


@hookimpl
async def authenticate(credentials: Credentials) -> Identity | None:
    """Bearer access tokens (HTTP and websockets). Tokens that are not JWTs of our issuer
    are left to other plugins (``None``); ours are checked strictly: a bad, expired or
    revoked one is a 401. A token this process verified moments ago is taken as it was
    (:mod:`lyo_auth.verified`)."""
    current = started()
    token = credentials.token
    if current is None or not token:
        return None
    known = current.verified.get(token)
    if known is not None:
        return known
    if not current.tokens.is_ours(token):
        return None
    return await identity_for(token, current.tokens.decode(token, "access"))


@hookimpl
async def export_user(user_id: str) -> dict[str, object] | None:
    return await users.export_user(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await users.erase_user(user_id)
