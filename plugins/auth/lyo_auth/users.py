"""Users' profiles, avatars, preferences and administration views, and their personal
data (the ``export_user`` and ``erase_user`` hooks); the routes are in :mod:`.routes`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from kernel import (
    IMAGES,
    Unauthorized,
    after_commit,
    current_identity,
    publish,
)

from .events import ProfileUpdated, UserErased
from .later import again
from .models import Session, User
from .schemas import (
    AdminUser,
    Preferences,
    ProfileOut,
)
from .sessions import REVOKED, revoke_sessions
from .settings import plugin

#: Avatars: PNG, JPEG and WebP, sniffed from the content (the client's type is ignored).
AVATAR_TYPES = {mime: IMAGES[mime] for mime in ("image/png", "image/jpeg", "image/webp")}


def me() -> uuid.UUID:
    return uuid.UUID(current_identity().id)


#: Seconds ``/api/auth/me``'s account fields stay cached; writes through the API drop
#: them once committed, so this only bounds writes made around the API (SQL by hand).
ACCOUNT_TTL = 300.0
_DATETIME = TypeAdapter(datetime)  # written as UserOut writes it


async def account_fields(user_id: str) -> dict[str, Any]:
    """``/api/auth/me`` without roles and permissions (the identity has them, kept fresh
    by the token check), as JSON, from the cache; 401 when the account is gone."""
    return await plugin.cache.get_or_set(
        f"account:{user_id}", lambda: _account_fields(user_id), ttl=ACCOUNT_TTL
    )


async def _account_fields(user_id: str) -> dict[str, Any]:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise Unauthorized(REVOKED)
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "locale": user.locale,
        "timezone": user.timezone,
        "created_at": _DATETIME.dump_python(user.created_at, mode="json"),
    }


async def forget_account(user_id: uuid.UUID) -> None:
    """Once the current transaction commits, drop ``user_id``'s cached account fields,
    and again a moment later (:mod:`.later`: a read racing the write)."""
    key, cache = f"account:{user_id}", plugin.cache

    async def drop() -> None:
        await cache.delete(key)
        again(lambda: cache.delete(key))

    await after_commit(drop)


def profile_out(user: User) -> ProfileOut:
    return ProfileOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        bio=user.bio,
        timezone=user.timezone,
        locale=user.locale,
        avatar_url=user.avatar_url,
    )


def admin_user(user: User) -> AdminUser:
    return AdminUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=user.role_names(),
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        deactivated_at=user.deactivated_at,
    )


async def profile_updated(user: User, changed: list[str]) -> None:
    """Publish ``auth.profile_updated.v1`` (in the current transaction) if anything
    changed, and drop the cached account fields once it commits."""
    if changed:
        await forget_account(user.id)
        await publish(
            ProfileUpdated(
                user_id=user.id,
                changed=sorted(changed),
                display_name=user.display_name,
                timezone=user.timezone,
                locale=user.locale,
                avatar_url=user.avatar_url,
            )
        )


def preferences(stored: dict[str, Any]) -> Preferences:
    known = {k: v for k, v in stored.items() if k in Preferences.model_fields}
    return Preferences.model_validate(known)


# -- administration (permission auth:admin; admins hold "*") -----------------------------


async def admin_view(user_id: uuid.UUID) -> AdminUser:
    user = await User.get(id=user_id)
    await user.fetch_related("role_grants")
    return admin_user(user)


# -- privacy (the export_user and erase_user hooks) -------------------------------------


async def export_user(user_id: str) -> dict[str, Any] | None:
    """The account, roles, preferences and sessions of ``user_id``; never secrets."""
    user = await _account_or_none(user_id)
    if user is None:
        return None
    await user.fetch_related("role_grants")
    sessions = (
        await Session.filter(user_id=user.id)
        .order_by("created_at")
        .values("created_at", "last_used_at", "revoked_at", "revoked_reason", "user_agent", "ip")
    )
    return {
        "account": {
            **profile_out(user).model_dump(mode="json"),
            "is_active": user.is_active,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
            "password_changed_at": user.password_changed_at,
            "deactivated_at": user.deactivated_at,
        },
        "roles": user.role_names(),
        "preferences": preferences(user.preferences or {}).model_dump(mode="json"),
        "sessions": sessions,
    }


async def erase_user(user_id: str) -> None:
    """Delete the account (its roles, sessions, tokens and resets go with it), revoke
    its tokens and, once committed, its avatar; publish ``auth.user_erased.v1``."""
    user = await _account_or_none(user_id)
    if user is None:
        return
    await revoke_sessions(user_id=user.id, reason="erased")
    await forget_account(user.id)
    await User.filter(id=user.id).delete()
    await publish(UserErased(user_id=user.id))
    if user.avatar_name:
        name, storage = user.avatar_name, plugin.kernel.storage
        await after_commit(lambda: storage.delete(name))


async def _account_or_none(user_id: str) -> User | None:
    try:
        return await User.get_or_none(id=uuid.UUID(str(user_id)))
    except ValueError:
        return None  # not one of our ids: nothing stored
