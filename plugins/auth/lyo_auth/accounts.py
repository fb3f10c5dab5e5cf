"""Accounts: registration, password changes and resets, roles, deactivation (sign-in is
:mod:`.signin`).

Routes and the ``create-admin`` command both go through these functions.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from kernel import (
    Conflict,
    ValidationFailed,
    after_commit,
    publish,
    transaction,
)

from .events import PasswordResetRequested, RolesChanged, UserDeactivated, UserRegistered
from .models import PasswordReset, User, UserRole
from .passwords import check_policy
from .services import services
from .sessions import forget_state, revoke_sessions, utcnow
from .settings import plugin
from .signin import account_key
from .tokens import token_digest

log = structlog.get_logger("lyo.auth")

BAD_RESET = "The reset token is invalid, expired or already used."


def _policy(password: str, email: str, field: str = "password") -> None:
    settings = services().settings
    check_policy(
        password,
        email=email,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
        field=field,
    )


async def register(
    email: str,
    password: str,
    display_name: str,
    *,
    locale: str = "en",
    roles: list[str] | None = None,
) -> User:
    """Create an account (``email`` already normalized) with the default roles, and
    publish ``auth.user_registered.v1`` in the same transaction.

    In development the first account registered also gets the admin role (logged as a
    warning), so a newcomer can create courses without configuring anything."""
    rt = services()
    _policy(password, email)
    if await User.exists(email=email):
        raise Conflict("An account with this email address already exists.", field="email")
    hashed = await rt.passwords.hash(password)
    granted = sorted(set(rt.settings.default_roles if roles is None else roles))
    async with transaction():
        if (
            roles is None
            and rt.settings.first_user_admin
            and plugin.kernel.settings.env == "development"
            and not await User.exists()
        ):
            granted = sorted({*granted, rt.settings.admin_role})
            log.warning(
                "first account registered in development: granted the admin role",
                email=email,
                role=rt.settings.admin_role,
                hint="set LYO_AUTH__FIRST_USER_ADMIN=false to turn this off",
            )
        user = await User.create(
            email=email,
            password_hash=hashed,
            display_name=display_name,
            locale=locale,
            password_changed_at=utcnow(),
        )
        for role in granted:
            await UserRole.create(user_id=user.id, role=role)
        await publish(
            UserRegistered(
                user_id=user.id,
                email=email,
                display_name=display_name,
                roles=granted,
                locale=locale,
            )
        )
    return user


async def change_password(
    user_id: uuid.UUID, current: str, new: str, *, keep_session: uuid.UUID | None
) -> None:
    """Set a new password after checking the current one; revoke every other session.
    Wrong current passwords count towards a lock of this account's password checks
    (``login_account_limit``, counted before the verify like sign-ins)."""
    rt = services()
    settings, throttle = rt.settings, rt.throttle
    user = await User.get(id=user_id)
    key = ("password-check", account_key(user.email))
    taken = await throttle.take(
        settings.login_account_limit,
        *key,
        detail="Too many failed password checks for this account; try again later.",
    )
    if not await rt.passwords.verify(user.password_hash, current):
        raise ValidationFailed.field("current_password", "The current password is wrong.")
    if taken:
        await throttle.give_back(settings.login_account_limit, *key)
    _policy(new, user.email, "new_password")
    hashed = await rt.passwords.hash(new)
    async with transaction():
        await _set_password(user, hashed)
        await revoke_sessions(user_id=user.id, keep=keep_session, reason="password_changed")


async def _set_password(user: User, hashed: str) -> None:
    user.password_hash = hashed
    user.password_changed_at = utcnow()
    await user.save(update_fields=["password_hash", "password_changed_at"])


async def request_reset(email: str, *, ip: str | None = None) -> None:
    """Make a reset token for an active account and publish
    ``auth.password_reset_requested.v1``; do nothing visible for unknown ones. The route
    runs this after answering, so the answer's timing tells nothing either.

    Limited per (account, address), ``forgot_limit``, and per account over all
    addresses, ``forgot_account_limit`` (known or not), so nobody's inbox can be flooded
    and one address cannot use up the account's quota; requests over a limit are dropped
    silently. A new token supersedes the account's older unused ones."""
    rt = services()
    settings, throttle = rt.settings, rt.throttle
    account = account_key(email)
    if not await throttle.allow(settings.forgot_limit, "forgot", account, ip or "unknown"):
        log.info("password reset requests from this address over the limit; ignored")
        return
    if not await throttle.allow(settings.forgot_account_limit, "forgot-account", account):
        log.info("password reset requests for this account over the limit; ignored")
        return
    user = await User.get_or_none(email=email, is_active=True)
    if user is None:
        return
    now = utcnow()
    expires = now + timedelta(seconds=settings.reset_ttl)
    async with transaction():
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        # the stored hash is of a token nobody sees: reset_link mints the mailed one
        reset = await PasswordReset.create(
            user_id=user.id,
            token_hash=token_digest(secrets.token_urlsafe(32)),
            created_at=now,
            expires_at=expires,
        )
        await publish(
            PasswordResetRequested(
                user_id=user.id,
                reset_id=reset.id,
                email=user.email,
                display_name=user.display_name,
                locale=user.locale,
                expires_at=expires,
            )
        )


@dataclass(frozen=True)
class ResetLink:
    """What a reset mail carries: the token, and the link when ``reset_url`` is set."""

    token: str
    url: str | None
    expires_at: datetime


async def reset_link(reset_id: uuid.UUID | str) -> ResetLink | None:
    """Mint a fresh token for password reset ``reset_id`` and store only its hash, so
    the token exists nowhere but in the caller's memory (never in an event, a task's
    arguments or a dead letter); the tokens minted before it stop working. ``None``
    once the reset is used, superseded or expired, or its account deactivated. Call it
    in the transaction that sends the mail: a rollback keeps the older token."""
    try:
        reset_id = uuid.UUID(str(reset_id))
    except ValueError:
        return None
    now = utcnow()
    reset = await PasswordReset.get_or_none(
        id=reset_id, used_at__isnull=True, expires_at__gt=now, user__is_active=True
    )
    if reset is None:
        return None
    token = secrets.token_urlsafe(32)
    reset.token_hash = token_digest(token)
    await reset.save(update_fields=["token_hash"])
    template = services().settings.reset_url
    url = template.replace("{token}", token) if template else None
    return ResetLink(token=token, url=url, expires_at=reset.expires_at)


async def reset_password(token: str, new: str) -> None:
    """Use a reset token (once) to set a new password; revoke every session and lift
    the account's account-wide sign-in lock (``login_account_ceiling``)."""
    rt = services()
    now = utcnow()
    reset = await PasswordReset.get_or_none(token_hash=token_digest(token)).select_related("user")
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise ValidationFailed.field("token", BAD_RESET)
    user = reset.user
    if not user.is_active:
        raise ValidationFailed.field("token", BAD_RESET)
    _policy(new, user.email, "new_password")
    hashed = await rt.passwords.hash(new)
    async with transaction():
        claimed = await PasswordReset.filter(id=reset.id, used_at__isnull=True).update(used_at=now)
        if claimed != 1:
            raise ValidationFailed.field("token", BAD_RESET)
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        await _set_password(user, hashed)
        await revoke_sessions(user_id=user.id, reason="password_reset")
    # lift the account-wide locks; each address's own brute-force lock runs its course
    account = account_key(user.email)
    await rt.throttle.clear(rt.settings.login_account_ceiling, "login-account", account)
    await rt.throttle.clear(rt.settings.login_account_limit, "password-check", account)


def check_role(role: str) -> None:
    roles = services().settings.roles
    if role not in roles:
        known = ", ".join(sorted(roles))
        raise ValidationFailed.field("role", f"Unknown role {role!r}; roles are: {known}.")


async def grant_role(user_id: uuid.UUID, role: str) -> None:
    check_role(role)
    async with transaction():
        user = await User.get(id=user_id)
        _, created = await UserRole.get_or_create(user_id=user.id, role=role)
        await after_commit(lambda: forget_state(user.id))
        if created:
            await _roles_changed(user.id, added=[role])


async def remove_role(user_id: uuid.UUID, role: str) -> None:
    check_role(role)
    async with transaction():
        user = await User.get(id=user_id)
        removed = await UserRole.filter(user_id=user.id, role=role).delete()
        await after_commit(lambda: forget_state(user.id))
        if removed:
            await _roles_changed(user.id, removed=[role])


async def _roles_changed(
    user_id: uuid.UUID, added: list[str] | None = None, removed: list[str] | None = None
) -> None:
    """Publish ``auth.roles_changed.v1`` in the current transaction."""
    roles = sorted(await UserRole.filter(user_id=user_id).values_list("role", flat=True))
    await publish(
        RolesChanged(user_id=user_id, added=added or [], removed=removed or [], roles=roles)
    )


async def deactivate(user_id: uuid.UUID, *, by: uuid.UUID | None) -> User:
    """Deactivate an account: its tokens stop working at once (every session revoked),
    and ``auth.user_deactivated.v1`` is published. Deactivating twice changes nothing."""
    async with transaction():
        user = await User.get(id=user_id)
        changed = await User.filter(id=user.id, is_active=True).update(
            is_active=False, deactivated_at=utcnow()
        )
        if changed:
            sids = await revoke_sessions(user_id=user.id, reason="deactivated")
            await publish(
                UserDeactivated(
                    user_id=user.id, email=user.email, by=by, sessions_revoked=len(sids)
                )
            )
    return await User.get(id=user_id)
