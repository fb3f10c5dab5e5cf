"""What the plugin builds at start-up from its settings and shares between its routes
and hooks: the token keys, the password hasher, the rate limits' storage and the tokens
this process has verified.

One set per running kernel (tests run several), found through the plugin's handle
(:data:`lyo_auth.settings.plugin`): ``services().tokens``. Built by the ``startup`` hook,
closed by ``shutdown``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from kernel import Kernel, ServiceUnavailable

from .passwords import Passwords
from .settings import NAME, AuthSettings, plugin
from .throttle import Throttle, create_storage
from .tokens import Tokens, load_keys
from .verified import TOPIC, VerifiedTokens

log = structlog.get_logger("lyo.auth")


@dataclass
class Services:
    #: ``LYO_AUTH__*`` with ``roles`` completed by the plugins' default grants
    settings: AuthSettings
    tokens: Tokens
    passwords: Passwords
    throttle: Throttle
    #: access tokens this process has verified (:mod:`lyo_auth.verified`)
    verified: VerifiedTokens
    #: stops listening to the hub's invalidations
    stop_listening: Callable[[], None]


_started: weakref.WeakKeyDictionary[Kernel, Services] = weakref.WeakKeyDictionary()


def services() -> Services:
    """The running kernel's; 503 before ``startup`` ran (or after ``shutdown``)."""
    found = started()
    if found is None:
        raise ServiceUnavailable("The auth plugin has not started.")
    return found


def started() -> Services | None:
    try:
        return _started.get(plugin.kernel)
    except RuntimeError:  # no kernel is running
        return None


async def start(kernel: Kernel) -> None:
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
    verified = VerifiedTokens(settings.token_cache_ttl)
    stop_listening = kernel.hub.listen(TOPIC, verified.heard)
    _started[kernel] = Services(
        settings, Tokens(settings, keys), passwords, throttle, verified, stop_listening
    )


async def stop(kernel: Kernel) -> None:
    found = _started.pop(kernel, None)
    if found is not None:
        found.stop_listening()
        await found.throttle.close()


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
