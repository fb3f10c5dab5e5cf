"""The ``auth`` plugin: accounts, JWT sessions, RBAC, profiles, brute-force protection.

Found through its ``lyo.plugins`` entry point; built only on the kernel's public API.
Other plugins never import it: they read ``kernel.current_identity()`` (id, roles,
permissions), guard routes with ``@kernel.require("learning:write")`` and subscribe to
its events by type string.
"""

from __future__ import annotations

import click
import structlog
from pydantic import BaseModel
from quart import Blueprint

from kernel import Credentials, HealthCheck, Identity, Kernel, Manifest, hookimpl

from . import routes, users
from .cli import create_admin
from .passwords import Passwords
from .runtime import NAME, Runtime, set_runtime, started
from .sessions import identity_for
from .settings import AuthSettings
from .throttle import Throttle, create_storage
from .tokens import Tokens, load_keys

__version__ = "0.1.0"
log = structlog.get_logger("lyo.auth")

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
    return [routes.bp, users.bp]


@hookimpl
def permissions() -> dict[str, str]:
    return PERMISSIONS


@hookimpl
def cli_commands() -> list[click.Command]:
    return [create_admin]


@hookimpl
async def startup(kernel: Kernel) -> None:
    settings: AuthSettings = kernel.settings_for(NAME)
    _warn_undeclared(kernel, settings)
    settings = settings.with_grants(kernel.permission_defaults)
    secret = kernel.settings.secret_key
    keys = load_keys(settings, secret.get_secret_value() if secret else None, kernel.settings.env)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    storage, pool = create_storage(kernel.settings.redis_url, kernel.settings.redis_prefix)
    throttle = Throttle(storage, lambda reason: kernel.set_degraded(NAME, reason), pool)
    set_runtime(
        Runtime(
            kernel=kernel,
            settings=settings,
            tokens=Tokens(settings, keys),
            passwords=passwords,
            throttle=throttle,
            cache=kernel.cache.for_plugin(NAME),
            storage=kernel.storage,
        )
    )


def _warn_undeclared(kernel: Kernel, settings: AuthSettings) -> None:
    """Name role and grant permissions no loaded plugin declares (a typo, or a plugin not
    installed)."""
    granted = {p for perms in settings.roles.values() for p in perms if p != "*"}
    undeclared = sorted(granted - set(kernel.permissions))
    if undeclared:
        log.info("roles grant permissions no loaded plugin declares", permissions=undeclared)
    unknown = sorted(set(settings.grants) - set(kernel.permissions))
    if unknown:
        log.warning(
            "LYO_AUTH__GRANTS names permissions no loaded plugin declares", permissions=unknown
        )


@hookimpl
async def shutdown(kernel: Kernel) -> None:
    current = started()
    set_runtime(None)
    if current is not None:
        await current.throttle.close()


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
    revoked one is a 401."""
    current = started()
    token = credentials.token
    if current is None or not token or not current.tokens.is_ours(token):
        return None
    claims = current.tokens.decode(token, "access")
    return await identity_for(claims)


@hookimpl
async def export_user(user_id: str) -> dict[str, object] | None:
    return await users.export_user(user_id)


@hookimpl
async def erase_user(user_id: str) -> None:
    await users.erase_user(user_id)
