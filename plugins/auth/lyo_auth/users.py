"""Users' profiles, avatars, preferences and administration views, and their personal
data (the ``export_user`` and ``erase_user`` hooks); the routes are in :mod:`.routes`."""

from __future__ import annotations

import uuid
from typing import Any

from kernel import (
    IMAGES,
    after_commit,
    current_identity,
    publish,
)

from .events import ProfileUpdated, UserErased
from .models import Session, User
from .schemas import (
    AdminUser,
    Preferences,
    ProfileOut,
)
from .sessions import revoke_sessions
from .settings import plugin

#: Avatars: PNG, JPEG and WebP, sniffed from the content (the client's type is ignored).
AVATAR_TYPES = {mime: IMAGES[mime] for mime in ("image/png", "image/jpeg", "image/webp")}


def me() -> uuid.UUID:
    return uuid.UUID(current_identity().id)


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
    """Publish ``auth.profile_updated.v1`` (in the current transaction) if anything changed."""
    if changed:
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
