"""Sessions: token pairs, atomic refresh rotation with reuse detection, revocation, and
the identity behind an access token.

Revocation is in two places. PostgreSQL is the truth (``auth_session.revoked_at``); the
kernel's cache (Redis when configured) holds a revocation list of session ids and
access-token ids, each entry living as long as an access token can, and a few seconds'
cache of each session's user state (active, roles). Verifying a token checks the list
and the state in one round trip, so a logout or a deactivation is effective at once;
when Redis is down the cache misses and the database answers. Each process then trusts
the token for a few seconds without checking again, told by the hub when to stop
sooner (:mod:`lyo_auth.verified`, where the bound on a lost message is documented).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kernel import Identity, Unauthorized, after_commit, transaction

from .later import again
from .models import RefreshToken, Session, User, UserRole
from .services import services
from .settings import plugin
from .tokens import Issued, token_digest
from .verified import TOPIC

REVOKED = "The token has been revoked."
#: A sign-in refused: wrong credentials, or an account that changed (password,
#: deactivation) while its password was being checked; the same answer either way.
BAD_CREDENTIALS = "Invalid email or password."


def utcnow() -> datetime:
    return datetime.now(UTC)


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


#: Sign-in on PostgreSQL in one statement (no BEGIN/COMMIT, one round trip): record it
#: on the account (and a rehashed password), open the session, store its refresh token;
#: all of it only while the account still has the password hash that was verified and
#: is active ($11): a password change, reset or deactivation that commits while the
#: password is being checked (it locks the row first) makes the sign-in write nothing.
_SIGN_IN = """
WITH account AS (
    UPDATE auth_user SET last_login_at = $1, password_hash = COALESCE($2, password_hash)
    WHERE id = $3 AND password_hash = $11 AND is_active
    RETURNING id
), session AS (
    INSERT INTO auth_session (id, user_id, created_at, last_used_at, user_agent, ip)
    SELECT $4, id, $1, $1, $5, $6 FROM account
    RETURNING id
)
INSERT INTO auth_refresh_token (id, session_id, token_hash, created_at, expires_at)
SELECT $7, id, $8, $9, $10 FROM session
RETURNING id
"""


async def open_session(
    user_id: uuid.UUID,
    *,
    user_agent: str | None,
    ip: str | None,
    verified: str,
    password_hash: str | None = None,
) -> dict[str, Any]:
    """Sign ``user_id`` in: record the sign-in (and ``password_hash``, a rehash, when
    given), open a new session (refresh-token family) and answer its first token pair.
    Only while the account is active and still has the password hash ``verified`` (the
    one the password was checked against): else 401, nothing written, so a sign-in
    racing a password change, a reset or a deactivation cannot outlive it.

    On PostgreSQL one statement; elsewhere three, without a transaction: a session whose
    refresh token failed to be stored has no token anybody holds, so it is harmless, and
    BEGIN and COMMIT would be two more round trips on the sign-in path."""
    now, session_id = utcnow(), uuid.uuid4()
    pair, refresh = _new_pair(user_id, session_id)
    user_agent, ip = (user_agent or "")[:255] or None, (ip or "")[:64] or None
    db = Session._meta.db
    if db.capabilities.dialect == "postgres":
        values = [now, password_hash, user_id, session_id, user_agent, ip]
        _, rows = await db.execute_query(_SIGN_IN, [*values, *_refresh_row(refresh), verified])
        if not rows:
            raise Unauthorized(BAD_CREDENTIALS)
        return pair
    fields = {"last_login_at": now}
    if password_hash is not None:
        fields["password_hash"] = password_hash  # type: ignore[assignment]
    # SQLite has one writer: the check and the write cannot interleave with another's
    if not await User.filter(id=user_id, password_hash=verified, is_active=True).update(**fields):
        raise Unauthorized(BAD_CREDENTIALS)
    await Session.create(
        id=session_id, user_id=user_id, user_agent=user_agent, ip=ip, last_used_at=now
    )
    await _store(refresh, session_id)
    return pair


def _new_pair(user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[dict[str, Any], Issued]:
    """A new token pair of the session, as answered (``TokenPair``'s fields: built as
    JSON, no pydantic pass), and its refresh token, to store."""
    tokens = services().tokens
    access = tokens.issue("access", user_id=user_id, session_id=session_id, jti=uuid.uuid4())
    refresh = tokens.issue("refresh", user_id=user_id, session_id=session_id, jti=uuid.uuid4())
    pair = {
        "access_token": access.token,
        "refresh_token": refresh.token,
        "token_type": "bearer",
        "expires_in": access.expires_at - access.issued_at,
        "refresh_expires_in": refresh.expires_at - refresh.issued_at,
    }
    return pair, refresh


def _refresh_row(refresh: Issued) -> list[Any]:
    """The stored columns of ``refresh``: id, token hash, created and expiry times."""
    return [
        refresh.jti,
        token_digest(refresh.token),
        _at(refresh.issued_at),
        _at(refresh.expires_at),
    ]


async def _store(refresh: Issued, session_id: uuid.UUID) -> None:
    jti, digest, created, expires = _refresh_row(refresh)
    await RefreshToken.create(
        id=jti, session_id=session_id, token_hash=digest, created_at=created, expires_at=expires
    )


async def rotate(token: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair, consuming it.

    Consuming is one conditional UPDATE (``WHERE consumed_at IS NULL``) in the
    transaction that issues the successor: of concurrent refreshes of one token exactly
    one updates the row; the others (and any later replay) find it consumed, which is
    reuse: the whole family is revoked, and they get 401.
    """
    claims = services().tokens.decode(token, "refresh")
    jti, sid = uuid.UUID(claims["jti"]), uuid.UUID(claims["sid"])
    now = utcnow()
    async with transaction():
        row = await RefreshToken.get_or_none(id=jti).select_related("session__user")
        if (
            row is None
            or row.token_hash != token_digest(token)
            or row.session.id != sid
            or str(row.session.user.id) != claims["sub"]
        ):
            raise Unauthorized("The token is invalid.")
        session = row.session
        if session.revoked_at is not None or row.revoked_at is not None:
            raise Unauthorized(REVOKED)
        if not session.user.is_active:
            raise Unauthorized(REVOKED)
        if row.expires_at <= now:
            raise Unauthorized("The token has expired.")
        claimed = await RefreshToken.filter(
            id=jti, consumed_at__isnull=True, revoked_at__isnull=True
        ).update(consumed_at=now)
        if claimed == 1:
            await Session.filter(id=sid).update(last_used_at=now)
            pair, refresh = _new_pair(session.user.id, sid)
            await _store(refresh, sid)
            return pair
        # Reuse: commit the revocation (leaving the block normally), then refuse.
        await revoke_sessions(session_id=sid, reason="refresh_reuse")
    raise Unauthorized("The refresh token was already used; the session has been revoked.")


async def revoke_sessions(
    *,
    reason: str,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke live sessions of ``user_id`` (all, or all but ``keep``) or one session,
    with their unconsumed refresh tokens. Their ids join the revocation list once the
    transaction commits. Returns the ids revoked."""
    query = Session.filter(revoked_at__isnull=True)
    if user_id is not None:
        query = query.filter(user_id=user_id)
    if session_id is not None:
        query = query.filter(id=session_id)
    if keep is not None:
        query = query.exclude(id=keep)
    sids = [uuid.UUID(str(s)) for s in await query.values_list("id", flat=True)]
    if not sids:
        return []
    now = utcnow()
    await Session.filter(id__in=sids, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    await RefreshToken.filter(
        session_id__in=sids, consumed_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    await after_commit(lambda: mark_revoked(sids))
    return sids


def _list_ttl() -> int:
    """How long revocation-list entries live: as long as an access token can."""
    settings = services().settings
    return settings.access_ttl + settings.leeway + 1


async def mark_revoked(sids: Iterable[uuid.UUID], jti: str | None = None) -> None:
    """Put sessions (and one access token) on the revocation list, drop their cached
    state, and have every process forget them (:func:`invalidate`)."""
    sids = list(sids)
    ttl = _list_ttl()
    entries: dict[str, bool] = {f"revoked:sid:{sid}": True for sid in sids}
    if jti is not None:
        entries[f"revoked:jti:{jti}"] = True
    await plugin.cache.set_many(entries, ttl=ttl)
    await invalidate(sids, [jti] if jti is not None else [])


async def forget_state(user_id: uuid.UUID) -> None:
    """Drop the cached state of ``user_id``'s sessions (after a role change)."""
    sids = await Session.filter(user_id=user_id, revoked_at__isnull=True).values_list(
        "id", flat=True
    )
    await invalidate(sids)


async def invalidate(sids: Iterable[object], jtis: Iterable[str] = ()) -> None:
    """Drop what is cached about sessions ``sids`` (and access tokens ``jtis``): their
    state in the shared cache, and the tokens every process has verified (this one's at
    once, the others' through the hub: :mod:`lyo_auth.verified`)."""
    sids, jtis = [str(sid) for sid in sids], list(jtis)
    if not sids and not jtis:
        return
    await _drop(sids, jtis)
    # a token check that read the session before the change may store the old state
    # after this drop: drop once more when such checks have finished (:mod:`.later`)
    again(lambda: _drop(sids, jtis))


async def _drop(sids: list[str], jtis: list[str]) -> None:
    services().verified.forget(sids, jtis)
    await plugin.cache.delete_many(f"state:{sid}" for sid in sids)
    await plugin.kernel.hub.publish(TOPIC, {"sids": sids, "jtis": jtis})


async def _load_state(sid: str) -> dict[str, Any]:
    session = await Session.get_or_none(id=sid).select_related("user")
    if session is None:
        return {"user": None, "valid": False, "roles": []}
    roles = await UserRole.filter(user_id=session.user.id).values_list("role", flat=True)
    return {
        "user": str(session.user.id),
        "valid": session.revoked_at is None and session.user.is_active,
        "roles": sorted(str(r) for r in roles),
    }


async def identity_for(token: str, claims: dict[str, Any]) -> Identity:
    """The identity of ``token``, whose verified access-token ``claims`` these are; 401
    when revoked. One round trip reads the revocation list and the session's cached
    state (SQL only when the state is not cached); the answer is kept in this process
    (:mod:`lyo_auth.verified`)."""
    rt = services()
    cache, sid, jti = plugin.cache, claims["sid"], claims["jti"]
    generation = rt.verified.generation
    state_key = f"state:{sid}"
    revoked = (f"revoked:jti:{jti}", f"revoked:sid:{sid}")
    found = await cache.get_many([*revoked, state_key])
    if any(key in found for key in revoked):
        raise Unauthorized(REVOKED)
    state = found.get(state_key)
    if state is None:
        state = await _load_state(sid)
        if rt.settings.state_ttl > 0:
            await cache.set(state_key, state, ttl=rt.settings.state_ttl)
    if not state["valid"] or state["user"] != claims["sub"]:
        raise Unauthorized(REVOKED)
    roles = frozenset(state["roles"])
    identity = Identity(
        id=claims["sub"],
        roles=roles,
        permissions=rt.settings.permissions_of(roles),
        kind="user",
        expires_at=_at(int(claims["exp"])),
        claims=claims,
    )
    rt.verified.put(token, identity, claims, rt.settings.leeway, generation)
    return identity
