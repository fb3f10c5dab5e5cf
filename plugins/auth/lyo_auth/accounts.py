"""Accounts: registration, sign-in, password changes and resets, roles, deactivation.

Routes and the ``create-admin`` command both go through these functions.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

import structlog

from kernel import (
    Conflict,
    Unauthorized,
    ValidationFailed,
    after_commit,
    publish,
    transaction,
)

from .events import PasswordResetRequested, UserDeactivated, UserRegistered
from .models import PasswordReset, User, UserRole
from .passwords import check_policy
from .runtime import runtime
from .schemas import TokenPair
from .sessions import forget_state, open_session, revoke_sessions, utcnow
from .tokens import token_digest

log = structlog.get_logger("lyo.auth")

BAD_CREDENTIALS = "Invalid email or password."
BAD_RESET = "The reset token is invalid, expired or already used."


def _account(email: str) -> str:
    """The rate-limit key of an account: a digest, so no address is stored in Redis."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _policy(password: str, email: str, field: str = "password") -> None:
    settings = runtime().settings
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
    rt = runtime()
    _policy(password, email)
    if await User.exists(email=email):
        raise Conflict("An account with this email address already exists.", field="email")
    hashed = await rt.passwords.hash(password)
    granted = sorted(set(rt.settings.default_roles if roles is None else roles))
    async with transaction():
        if (
            roles is None
            and rt.settings.first_user_admin
            and rt.kernel.settings.env == "development"
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


async def login(email: str, password: str, *, ip: str | None, user_agent: str | None) -> TokenPair:
    """Check the password and open a session. Unknown accounts, wrong passwords and
    deactivated accounts get the same 401 after the same work (one argon2 verify);
    failures count towards the per-account and per-IP lockouts."""
    rt = runtime()
    settings, throttle = rt.settings, rt.throttle
    client = ip or "unknown"
    await throttle.check(
        settings.login_ip_limit,
        "login-ip",
        client,
        detail="Too many failed sign-ins from this address; try again later.",
    )
    await throttle.check(
        settings.login_account_limit,
        "login-account",
        _account(email),
        detail="Too many failed sign-ins for this account; try again later.",
    )
    user = await User.get_or_none(email=email)
    matches = await rt.passwords.verify(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        await throttle.hit(settings.login_ip_limit, "login-ip", client)
        await throttle.hit(settings.login_account_limit, "login-account", _account(email))
        raise Unauthorized(BAD_CREDENTIALS)
    await throttle.clear(settings.login_account_limit, "login-account", _account(email))
    user.last_login_at = utcnow()
    fields = ["last_login_at"]
    if rt.passwords.needs_rehash(user.password_hash):
        user.password_hash = await rt.passwords.hash(password)
        fields.append("password_hash")
    await user.save(update_fields=fields)
    return await open_session(user, user_agent=user_agent, ip=ip)


async def change_password(
    user_id: uuid.UUID, current: str, new: str, *, keep_session: uuid.UUID | None
) -> None:
    """Set a new password after checking the current one; revoke every other session.
    Wrong current passwords count towards the account lockout."""
    rt = runtime()
    settings, throttle = rt.settings, rt.throttle
    user = await User.get(id=user_id)
    await throttle.check(
        settings.login_account_limit,
        "login-account",
        _account(user.email),
        detail="Too many failed password checks for this account; try again later.",
    )
    if not await rt.passwords.verify(user.password_hash, current):
        await throttle.hit(settings.login_account_limit, "login-account", _account(user.email))
        raise ValidationFailed.field("current_password", "The current password is wrong.")
    _policy(new, user.email, "new_password")
    hashed = await rt.passwords.hash(new)
    async with transaction():
        await _set_password(user, hashed)
        await revoke_sessions(user_id=user.id, keep=keep_session, reason="password_changed")


async def _set_password(user: User, hashed: str) -> None:
    user.password_hash = hashed
    user.password_changed_at = utcnow()
    await user.save(update_fields=["password_hash", "password_changed_at"])


async def request_reset(email: str) -> None:
    """Make a reset token for an active account and publish
    ``auth.password_reset_requested.v1``; do nothing visible for unknown ones. Limited
    per account (known or not), so nobody's inbox can be flooded; requests over the limit
    are dropped silently (the answer is 202 either way)."""
    rt = runtime()
    if not await rt.throttle.allow(rt.settings.forgot_limit, "forgot", _account(email)):
        log.info("password reset requests over the limit; ignored")
        return
    user = await User.get_or_none(email=email, is_active=True)
    if user is None:
        return
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(seconds=rt.settings.reset_ttl)
    template = rt.settings.reset_url
    async with transaction():
        await PasswordReset.create(
            user_id=user.id, token_hash=token_digest(token), created_at=now, expires_at=expires
        )
        await publish(
            PasswordResetRequested(
                user_id=user.id,
                email=user.email,
                display_name=user.display_name,
                locale=user.locale,
                token=token,
                reset_url=template.replace("{token}", token) if template else None,
                expires_at=expires,
            )
        )


async def reset_password(token: str, new: str) -> None:
    """Use a reset token (once) to set a new password; revoke every session and lift
    the account's sign-in lockout."""
    rt = runtime()
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
    await rt.throttle.clear(rt.settings.login_account_limit, "login-account", _account(user.email))


def check_role(role: str) -> None:
    roles = runtime().settings.roles
    if role not in roles:
        known = ", ".join(sorted(roles))
        raise ValidationFailed.field("role", f"Unknown role {role!r}; roles are: {known}.")


async def grant_role(user_id: uuid.UUID, role: str) -> None:
    check_role(role)
    async with transaction():
        user = await User.get(id=user_id)
        await UserRole.get_or_create(user_id=user.id, role=role)
        await after_commit(lambda: forget_state(user.id))


async def remove_role(user_id: uuid.UUID, role: str) -> None:
    check_role(role)
    async with transaction():
        user = await User.get(id=user_id)
        await UserRole.filter(user_id=user.id, role=role).delete()
        await after_commit(lambda: forget_state(user.id))


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
