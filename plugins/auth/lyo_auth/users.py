"""``/api/users`` (a prefix the manifest claims): profiles, avatars, preferences, public
profiles, and the administration of users and roles."""

from __future__ import annotations

import uuid
from typing import Any

from quart import Blueprint, request
from quart_schema import (
    DataSource,
    document_request,
    validate_querystring,
    validate_request,
    validate_response,
)

from kernel import (
    Conflict,
    NotFound,
    Page,
    ValidationFailed,
    after_commit,
    current_identity,
    paginate,
    problem_responses,
    publish,
    require,
    transaction,
)
from kernel.data.uploads import IMAGES, save_upload

from . import accounts
from .events import PreferencesUpdated, ProfileUpdated, UserErased
from .models import Session, User
from .runtime import runtime
from .schemas import (
    AdminUser,
    AvatarForm,
    Preferences,
    ProfileOut,
    ProfilePatch,
    PublicProfile,
    UserQuery,
)
from .sessions import revoke_sessions

bp = Blueprint("auth_users", __name__, url_prefix="/api/users")

#: Avatars: PNG, JPEG and WebP, sniffed from the content (the client's type is ignored).
AVATAR_TYPES = {mime: IMAGES[mime] for mime in ("image/png", "image/jpeg", "image/webp")}


def _me() -> uuid.UUID:
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


@bp.get("/me/profile")
@require()
@validate_response(ProfileOut)
async def get_profile() -> ProfileOut:
    """The signed-in user's profile."""
    return profile_out(await User.get(id=_me()))


@bp.patch("/me/profile")
@require()
@validate_request(ProfilePatch)
@validate_response(ProfileOut)
async def patch_profile(data: ProfilePatch) -> ProfileOut:
    """Change the display name, bio, time zone (IANA) or locale; fields left out stay."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    async with transaction():
        user = await User.get(id=_me())
        changed = [name for name, value in changes.items() if getattr(user, name) != value]
        if changes:
            user.update_from_dict(changes)
            await user.save(update_fields=[*changes, "updated_at"])
        await _profile_updated(user, changed)
    return profile_out(user)


async def _profile_updated(user: User, changed: list[str]) -> None:
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


@bp.put("/me/avatar")
@require()
@problem_responses(415)
@document_request(AvatarForm, source=DataSource.FORM_MULTIPART)
@validate_response(ProfileOut)
async def put_avatar() -> ProfileOut:
    """Upload an avatar: a PNG, JPEG or WebP image (the type is read from the content),
    as form field ``file`` or as the raw body. Replaces the previous one."""
    rt = runtime()
    source: Any
    filename = None
    if request.mimetype == "multipart/form-data":
        source = (await request.files).get("file")
        if source is None:
            raise ValidationFailed.field("file", "Send the image as the form field 'file'.")
    else:
        source, filename = request.body, None
    stored = await save_upload(
        source,
        storage=rt.storage,
        allowed=AVATAR_TYPES,
        max_bytes=rt.settings.avatar_max_bytes,
        prefix="avatars/",
        filename=filename,
    )
    user = await User.get(id=_me())
    previous = user.avatar_name
    user.avatar_name, user.avatar_url = stored.name, stored.url
    try:
        async with transaction():
            await user.save(update_fields=["avatar_name", "avatar_url", "updated_at"])
            await _profile_updated(user, ["avatar_url"])
    except BaseException:
        await rt.storage.delete(stored.name)
        raise
    if previous:
        await rt.storage.delete(previous)
    return profile_out(user)


@bp.delete("/me/avatar")
@require()
@validate_response(ProfileOut)
async def delete_avatar() -> ProfileOut:
    """Remove the avatar."""
    user = await User.get(id=_me())
    if user.avatar_name:
        name = user.avatar_name
        user.avatar_name = user.avatar_url = None
        async with transaction():
            await user.save(update_fields=["avatar_name", "avatar_url", "updated_at"])
            await _profile_updated(user, ["avatar_url"])
        await runtime().storage.delete(name)
    return profile_out(user)


def _preferences(stored: dict[str, Any]) -> Preferences:
    known = {k: v for k, v in stored.items() if k in Preferences.model_fields}
    return Preferences.model_validate(known)


@bp.get("/me/preferences")
@require()
@validate_response(Preferences)
async def get_preferences() -> Preferences:
    """The signed-in user's preferences, defaults filled in."""
    return _preferences((await User.get(id=_me())).preferences or {})


@bp.put("/me/preferences")
@require()
@validate_request(Preferences)
@validate_response(Preferences)
async def put_preferences(data: Preferences) -> Preferences:
    """Replace the preferences; fields left out take their defaults."""
    async with transaction():
        user = await User.get(id=_me())
        before = _preferences(user.preferences or {}).model_dump(mode="json")
        user.preferences = data.model_dump(mode="json", exclude_unset=True)
        await user.save(update_fields=["preferences", "updated_at"])
        after = _preferences(user.preferences).model_dump(mode="json")
        changed = sorted(name for name in after if after[name] != before.get(name))
        if changed:
            await publish(PreferencesUpdated(user_id=user.id, changed=changed, preferences=after))
    return _preferences(user.preferences)


@bp.get("/<uuid:user_id>")
@validate_response(PublicProfile)
async def public_profile(user_id: uuid.UUID) -> PublicProfile:
    """Anyone's public profile (no email address)."""
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise NotFound("No such user.")
    return PublicProfile(
        id=user.id,
        display_name=user.display_name,
        bio=user.bio,
        avatar_url=user.avatar_url,
        created_at=user.created_at,
    )


# -- administration (permission auth:admin; admins hold "*") -----------------------------


@bp.get("")
@require("auth:users.read")
@validate_querystring(UserQuery)
@validate_response(Page[AdminUser])
async def list_users(query_args: UserQuery) -> Page[AdminUser]:
    """Users, oldest first; filter by part of the email and by role."""
    users = User.all().prefetch_related("role_grants").order_by("created_at", "id")
    if query_args.email:
        users = users.filter(email__icontains=query_args.email.lower())
    if query_args.role:
        users = users.filter(role_grants__role=query_args.role)
    return await paginate(users, query_args, admin_user)


async def _admin_view(user_id: uuid.UUID) -> AdminUser:
    user = await User.get(id=user_id)
    await user.fetch_related("role_grants")
    return admin_user(user)


@bp.put("/<uuid:user_id>/roles/<role>")
@require("auth:admin")
@validate_response(AdminUser)
async def grant_role(user_id: uuid.UUID, role: str) -> AdminUser:
    """Grant a role (one of ``LYO_AUTH__ROLES``); granting it twice is harmless."""
    await accounts.grant_role(user_id, role)
    return await _admin_view(user_id)


@bp.delete("/<uuid:user_id>/roles/<role>")
@require("auth:admin")
@validate_response(AdminUser)
async def remove_role(user_id: uuid.UUID, role: str) -> AdminUser:
    """Take a role away."""
    await accounts.remove_role(user_id, role)
    return await _admin_view(user_id)


@bp.post("/<uuid:user_id>/deactivate")
@require("auth:admin")
@problem_responses(409)
@validate_response(AdminUser)
async def deactivate(user_id: uuid.UUID) -> AdminUser:
    """Deactivate an account: all its tokens stop working at once."""
    if user_id == _me():
        raise Conflict("You cannot deactivate your own account.")
    await accounts.deactivate(user_id, by=_me())
    return await _admin_view(user_id)


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
        "preferences": _preferences(user.preferences or {}).model_dump(mode="json"),
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
        name, storage = user.avatar_name, runtime().storage
        await after_commit(lambda: storage.delete(name))


async def _account_or_none(user_id: str) -> User | None:
    try:
        return await User.get_or_none(id=uuid.UUID(str(user_id)))
    except ValueError:
        return None  # not one of our ids: nothing stored
