"""``/api/auth``: registration, sign-in, token refresh, sign-out, the current user and
passwords."""

from __future__ import annotations

import uuid

from quart import Blueprint, Response, current_app, request
from quart_schema import validate_request, validate_response

from kernel import current_identity, problem_responses, require, transaction

from . import accounts
from .models import User
from .runtime import runtime
from .schemas import (
    Accepted,
    ForgotIn,
    LoginIn,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    ResetIn,
    TokenPair,
    UserOut,
)
from .sessions import mark_revoked, revoke_sessions, rotate

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


async def user_out(user: User) -> UserOut:
    await user.fetch_related("role_grants")
    roles = user.role_names()
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=roles,
        permissions=sorted(runtime().settings.permissions_of(roles)),
        locale=user.locale,
        timezone=user.timezone,
        created_at=user.created_at,
    )


def client_ip() -> str | None:
    return request.remote_addr


#: Endpoints whose answers carry tokens: no cache (browser, proxy) may keep them.
TOKEN_ENDPOINTS = frozenset({"auth.login", "auth.refresh"})


@bp.after_request
async def no_store_tokens(response: Response) -> Response:
    if request.endpoint in TOKEN_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/register")
@problem_responses(409, 429)
@validate_request(RegisterIn)
@validate_response(UserOut, 201)
async def register(data: RegisterIn) -> tuple[UserOut, int]:
    """Create an account. The password needs 12+ characters, must not be the email
    address or a common password. Rate limited per client address."""
    rt = runtime()
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
@validate_response(TokenPair)
async def login(data: LoginIn) -> TokenPair:
    """Sign in: an access token (Bearer, short-lived) and a refresh token. Repeated
    failures for an account from one address lock that address out of the account for
    a while (429); many failures for an account, or from an address, close it to
    addresses and accounts that have not signed in together before (429)."""
    return await accounts.login(
        data.email,
        data.password,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent"),
    )


@bp.post("/refresh")
@problem_responses(401)
@validate_request(RefreshIn)
@validate_response(TokenPair)
async def refresh(data: RefreshIn) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; using
    one again revokes its whole session."""
    return await rotate(data.refresh_token)


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
@validate_response(UserOut)
async def me() -> UserOut:
    """The signed-in user, with roles and the permissions they grant."""
    return await user_out(await User.get(id=current_identity().id))


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
@validate_response(Accepted, 202)
async def forgot_password(data: ForgotIn) -> tuple[Accepted, int]:
    """Ask for a password reset. Always 202, answered before any work is done: whether
    the account exists is not told, not even by the timing. A mail plugin delivers the
    token (event ``auth.password_reset_requested.v1``); a new token supersedes the older
    ones."""
    current_app.add_background_task(accounts.request_reset, data.email, ip=client_ip())
    detail = "If an account exists for this address, a reset message is on its way."
    return Accepted(detail=detail), 202


@bp.post("/password/reset")
@validate_request(ResetIn)
async def reset_password(data: ResetIn) -> tuple[str, int]:
    """Set a new password with a reset token; every session is signed out."""
    await accounts.reset_password(data.token, data.new_password)
    return "", 204
