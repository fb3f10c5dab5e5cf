"""The plugin's routes: ``/api/auth`` (registration, sign-in, token refresh, sign-out,
the current user, passwords) and ``/api/users`` (a prefix the manifest claims: profiles,
avatars, preferences, public profiles, the administration of users and roles)."""

from __future__ import annotations

import uuid
from typing import Any

from quart import Blueprint, current_app, request
from quart_schema import (
    DataSource,
    document_request,
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from kernel import (
    Conflict,
    Identity,
    NotFound,
    Page,
    ValidationFailed,
    current_identity,
    paginate,
    problem_responses,
    publish,
    require,
    save_upload,
    transaction,
)

from . import accounts, signin, users
from .events import PreferencesUpdated
from .models import User
from .schemas import (
    AdminUser,
    AvatarForm,
    ForgotIn,
    LoginIn,
    PasswordChangeIn,
    Preferences,
    ProfileOut,
    ProfilePatch,
    PublicProfile,
    RefreshIn,
    RegisterIn,
    ResetIn,
    ResetRequested,
    TokenPair,
    UserOut,
    UserQuery,
    WhoAmI,
)
from .services import services
from .sessions import mark_revoked, revoke_sessions, rotate
from .settings import plugin

bp = Blueprint("auth", __name__, url_prefix="/api/auth")
users_bp = Blueprint("auth_users", __name__, url_prefix="/api/users")


async def user_out(user: User) -> UserOut:
    await user.fetch_related("role_grants")
    roles = user.role_names()
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=roles,
        permissions=sorted(services().settings.permissions_of(roles)),
        locale=user.locale,
        timezone=user.timezone,
        created_at=user.created_at,
    )


def client_ip() -> str | None:
    return request.remote_addr


#: The headers of answers that carry tokens: no cache (browser, proxy) may keep them. Set
#: by those routes themselves, not by an ``after_request`` hook every ``/api/auth`` route
#: would pay for (``whoami`` is the token check's benchmark).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.post("/register")
@problem_responses(409, 429)
@validate_request(RegisterIn)
@validate_response(UserOut, 201)
async def register(data: RegisterIn) -> tuple[UserOut, int]:
    """Create an account. The password needs 12+ characters, must not be the email
    address or a common password. Rate limited per client address."""
    rt = services()
    await rt.throttle.consume(
        rt.settings.register_limit,
        "register",
        client_ip() or "unknown",
        detail="Too many registrations from this address; try again later.",
    )
    user = await accounts.register(data.email, data.password, data.display_name, locale=data.locale)
    return await user_out(user), 201


@bp.post("/login")
@problem_responses(401, 429)
@validate_request(LoginIn)
@document_response(TokenPair)
async def login(data: LoginIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Sign in: an access token (Bearer, short-lived) and a refresh token. Repeated
    failures for an account from one address lock that address out of the account for
    a while (429); many failures for an account, or from an address, close it to
    addresses and accounts that have not signed in together before (429)."""
    pair = await signin.login(
        data.email,
        data.password,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent"),
    )
    return pair, 200, NO_STORE


@bp.post("/refresh")
@problem_responses(401)
@validate_request(RefreshIn)
@document_response(TokenPair)
async def refresh(data: RefreshIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Exchange a refresh token for a new pair. Each refresh token works once; using
    one again revokes its whole session."""
    return await rotate(data.refresh_token), 200, NO_STORE


def _session_id() -> uuid.UUID | None:
    sid = current_identity().claims.get("sid")
    return uuid.UUID(sid) if sid else None


@bp.post("/logout")
@require()
async def logout() -> tuple[str, int]:
    """Sign out: revoke this session's refresh tokens and the access token presented."""
    identity = current_identity()
    sid = _session_id()
    if sid is not None:
        async with transaction():
            await revoke_sessions(session_id=sid, reason="logout")
    await mark_revoked([], jti=identity.claims.get("jti"))
    return "", 204


@bp.get("/me")
@require()
@document_response(UserOut)
async def me() -> dict[str, Any]:
    """The signed-in user, with roles and the permissions they grant."""
    # built as JSON (one encoding pass): the account fields from the cache, which writes
    # through the API clear; roles and permissions from the identity the token check gave
    identity = current_identity()
    account = await users.account_fields(str(identity.id))
    return {**account, **_grants(identity)}


@bp.get("/whoami")
@require()
@document_response(WhoAmI)
async def whoami() -> dict[str, Any]:
    """Who the bearer token says the caller is: the token check alone, nothing read."""
    identity = current_identity()
    expires = identity.expires_at.isoformat() if identity.expires_at else None
    return {"id": identity.id, **_grants(identity), "expires_at": expires}


def _grants(identity: Identity) -> dict[str, list[str]]:
    return {"roles": sorted(identity.roles), "permissions": sorted(identity.permissions)}


@bp.post("/password")
@require()
@problem_responses(429)
@validate_request(PasswordChangeIn)
async def change_password(data: PasswordChangeIn) -> tuple[str, int]:
    """Change the password; every other session is signed out."""
    await accounts.change_password(
        uuid.UUID(current_identity().id),
        data.current_password,
        data.new_password,
        keep_session=_session_id(),
    )
    return "", 204


@bp.post("/password/forgot")
@validate_request(ForgotIn)
@validate_response(ResetRequested, 202)
async def forgot_password(data: ForgotIn) -> tuple[ResetRequested, int]:
    """Ask for a password reset. Always 202, answered before any work is done: whether
    the account exists is not told, not even by the timing. A mail plugin delivers the
    token (event ``auth.password_reset_requested.v1``, then ``api.reset_link``); a new
    request supersedes the older ones."""
    current_app.add_background_task(accounts.request_reset, data.email, ip=client_ip())
    detail = "If an account exists for this address, a reset message is on its way."
    return ResetRequested(detail=detail), 202


@bp.post("/password/reset")
@validate_request(ResetIn)
async def reset_password(data: ResetIn) -> tuple[str, int]:
    """Set a new password with a reset token; every session is signed out."""
    await accounts.reset_password(data.token, data.new_password)
    return "", 204


# -- /api/users ---------------------------------------------------------------------------


@users_bp.get("/me/profile")
@require()
@validate_response(ProfileOut)
async def get_profile() -> ProfileOut:
    """The signed-in user's profile."""
    return users.profile_out(await User.get(id=users.me()))


@users_bp.patch("/me/profile")
@require()
@validate_request(ProfilePatch)
@validate_response(ProfileOut)
async def patch_profile(data: ProfilePatch) -> ProfileOut:
    """Change the display name, bio, time zone (IANA) or locale; fields left out stay."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    async with transaction():
        user = await User.get(id=users.me())
        changed = [name for name, value in changes.items() if getattr(user, name) != value]
        if changes:
            user.update_from_dict(changes)
            await user.save(update_fields=[*changes, "updated_at"])
        await users.profile_updated(user, changed)
    return users.profile_out(user)


@users_bp.put("/me/avatar")
@require()
@problem_responses(415)
@document_request(AvatarForm, source=DataSource.FORM_MULTIPART)
@validate_response(ProfileOut)
async def put_avatar() -> ProfileOut:
    """Upload an avatar: a PNG, JPEG or WebP image (the type is read from the content),
    as form field ``file`` or as the raw body. Replaces the previous one."""
    rt = services()
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
        storage=plugin.kernel.storage,
        allowed=users.AVATAR_TYPES,
        max_bytes=rt.settings.avatar_max_bytes,
        prefix="avatars/",
        filename=filename,
    )
    user = await User.get(id=users.me())
    previous = user.avatar_name
    user.avatar_name, user.avatar_url = stored.name, stored.url
    try:
        async with transaction():
            await user.save(update_fields=["avatar_name", "avatar_url", "updated_at"])
            await users.profile_updated(user, ["avatar_url"])
    except BaseException:
        await plugin.kernel.storage.delete(stored.name)
        raise
    if previous:
        await plugin.kernel.storage.delete(previous)
    return users.profile_out(user)


@users_bp.delete("/me/avatar")
@require()
@validate_response(ProfileOut)
async def delete_avatar() -> ProfileOut:
    """Remove the avatar."""
    user = await User.get(id=users.me())
    if user.avatar_name:
        name = user.avatar_name
        user.avatar_name = user.avatar_url = None
        async with transaction():
            await user.save(update_fields=["avatar_name", "avatar_url", "updated_at"])
            await users.profile_updated(user, ["avatar_url"])
        await plugin.kernel.storage.delete(name)
    return users.profile_out(user)


@users_bp.get("/me/preferences")
@require()
@validate_response(Preferences)
async def get_preferences() -> Preferences:
    """The signed-in user's preferences, defaults filled in."""
    return users.preferences((await User.get(id=users.me())).preferences or {})


@users_bp.put("/me/preferences")
@require()
@validate_request(Preferences)
@validate_response(Preferences)
async def put_preferences(data: Preferences) -> Preferences:
    """Replace the preferences; fields left out take their defaults."""
    async with transaction():
        user = await User.get(id=users.me())
        before = users.preferences(user.preferences or {}).model_dump(mode="json")
        user.preferences = data.model_dump(mode="json", exclude_unset=True)
        await user.save(update_fields=["preferences", "updated_at"])
        after = users.preferences(user.preferences).model_dump(mode="json")
        changed = sorted(name for name in after if after[name] != before.get(name))
        if changed:
            await publish(PreferencesUpdated(user_id=user.id, changed=changed, preferences=after))
    return users.preferences(user.preferences)


@users_bp.get("/<uuid:user_id>")
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


@users_bp.get("")
@require("auth:users.read")
@validate_querystring(UserQuery)
@validate_response(Page[AdminUser])
async def list_users(query_args: UserQuery) -> Page[AdminUser]:
    """Users, oldest first; filter by part of the email and by role."""
    found = User.all().prefetch_related("role_grants").order_by("created_at", "id")
    if query_args.email:
        found = found.filter(email__icontains=query_args.email.lower())
    if query_args.role:
        found = found.filter(role_grants__role=query_args.role)
    return await paginate(found, query_args, users.admin_user)


@users_bp.put("/<uuid:user_id>/roles/<role>")
@require("auth:admin")
@validate_response(AdminUser)
async def grant_role(user_id: uuid.UUID, role: str) -> AdminUser:
    """Grant a role (one of ``LYO_AUTH__ROLES``); granting it twice is harmless."""
    await accounts.grant_role(user_id, role)
    return await users.admin_view(user_id)


@users_bp.delete("/<uuid:user_id>/roles/<role>")
@require("auth:admin")
@validate_response(AdminUser)
async def remove_role(user_id: uuid.UUID, role: str) -> AdminUser:
    """Take a role away."""
    await accounts.remove_role(user_id, role)
    return await users.admin_view(user_id)


@users_bp.post("/<uuid:user_id>/deactivate")
@require("auth:admin")
@problem_responses(409)
@validate_response(AdminUser)
async def deactivate(user_id: uuid.UUID) -> AdminUser:
    """Deactivate an account: all its tokens stop working at once."""
    if user_id == users.me():
        raise Conflict("You cannot deactivate your own account.")
    await accounts.deactivate(user_id, by=users.me())
    return await users.admin_view(user_id)
