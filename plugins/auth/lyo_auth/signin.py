"""Sign-in: the password checked against the brute-force limits, and a session opened.

``accounts`` holds the other account operations; this is the path every client takes
most and whose cost ``bench/auth.py`` measures against a bare argon2 verify, so it
makes as few round trips as it can and runs each step at once with the others it does
not depend on.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

from kernel import Unauthorized

from .models import User
from .services import services
from .sessions import BAD_CREDENTIALS, open_session
from .settings import plugin

T = TypeVar("T")


def account_key(email: str) -> str:
    """The rate-limit key of an account: a digest, so no address is stored in Redis."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


PAIR_LOCKED = "Too many failed sign-ins for this account from this address; try again later."
IP_LOCKED = "Too many failed sign-ins from this address; try again later."
ACCOUNT_LOCKED = (
    "Too many failed sign-ins for this account; try again later, from a device that has "
    "signed in to it before, or reset the password."
)


def _known_key(email: str, client: str) -> str:
    """The cache key recording that ``email`` signed in from ``client``: a digest, so
    neither the address nor the email is stored."""
    digest = hashlib.sha256(f"{email}\0{client}".encode()).hexdigest()[:32]
    return f"known-address:{digest}"


async def login(
    email: str, password: str, *, ip: str | None, user_agent: str | None
) -> dict[str, Any]:
    """Check the password and open a session. Unknown accounts, wrong passwords and
    deactivated accounts get the same 401 after the same work (one argon2 verify).

    Every attempt is counted *before* the verify (atomically, so a burst cannot pass a
    check made before any of it is counted) and handed back if it succeeds, so only
    failures stay counted, against three limits:

    - (account, address), ``login_account_limit``: the brute-force lock, always applied;
    - the address over all accounts, ``login_ip_limit`` (password spraying), and the
      account over all addresses, ``login_account_ceiling`` (a distributed attack):
      both skipped for an address this account has signed in from before, so neither
      a crowd behind one NAT nor an attacker elsewhere locks out its known users.
    """
    rt = services()
    settings = rt.settings
    client = ip or "unknown"
    account = account_key(email)
    known_key = _known_key(email, client)
    # Independent, so together (each is a round trip): the account's row, whether this
    # address is known to it, and counting the attempt against the brute-force lock.
    pair = (settings.login_account_limit, ("login-pair", account, client), PAIR_LOCKED)
    found = await asyncio.gather(
        _credentials(email),
        plugin.cache.get(known_key),
        _take_all([pair]),
        return_exceptions=True,
    )
    taken: list[Taken] = found[2] if isinstance(found[2], list) else []
    try:
        for outcome in found:
            if isinstance(outcome, BaseException):
                raise outcome
        user, known = cast("dict[str, Any] | None", found[0]), found[1]
        if not known:
            taken += await _take_all(
                [
                    (settings.login_ip_limit, ("login-ip", client), IP_LOCKED),
                    (settings.login_account_ceiling, ("login-account", account), ACCOUNT_LOCKED),
                ]
            )
        matches = await rt.passwords.verify(user["password_hash"] if user else None, password)
    except BaseException:
        await _give_back(taken)  # refused by another limit, or not an answer about the password
        raise
    if user is None or not matches or not user["is_active"]:
        raise Unauthorized(BAD_CREDENTIALS)  # the attempts stay counted
    # after the verify, together: the sign-in, handing the attempts back, and renewing
    # the known-address mark when due (each a round trip)
    steps: list[Awaitable[Any]] = [_sign_in(user, password, user_agent=user_agent, ip=ip)]
    if taken:
        steps.append(_give_back(taken))
    if _renewal_due(known, settings.known_address_ttl):
        steps.append(plugin.cache.set(known_key, int(time.time()), ttl=settings.known_address_ttl))
    return cast("dict[str, Any]", (await _together(steps))[0])


#: How stale the known-address mark may get before a sign-in renews it: renewing on
#: every sign-in would cost a Redis round trip each time for nothing.
KNOWN_RENEWAL = 24 * 3600


def _renewal_due(known: object, ttl: int) -> bool:
    """Whether a sign-in marks the (account, address) pair known for ``ttl`` seconds from
    now (the mark's value is when): unless one did within the last :data:`KNOWN_RENEWAL`
    seconds (or tenth of ``ttl``), so a pair stays known ``ttl`` seconds after its last
    sign-in, give or take that."""
    marked = known if type(known) is int else None  # older marks hold True
    return bool(ttl) and (marked is None or time.time() - marked >= min(KNOWN_RENEWAL, ttl // 10))


async def _together(steps: Sequence[Awaitable[T]]) -> list[T]:
    """Await ``steps`` at once; one alone directly (each task costs CPU on this path)."""
    if len(steps) == 1:
        return [await steps[0]]
    return await asyncio.gather(*steps)


Taken = tuple[str, tuple[str, ...]]


async def _take_all(checks: list[tuple[str, tuple[str, ...], str]]) -> list[Taken]:
    """Count one attempt against each check at once; the ones counted. If any refuses
    (429) or fails, the others are handed back and its exception raised."""
    throttle = services().throttle
    if len(checks) == 1:  # nothing to hand back if it refuses or fails
        rate, key, detail = checks[0]
        return [(rate, key)] if await throttle.take(rate, *key, detail=detail) else []
    outcomes = await asyncio.gather(
        *(throttle.take(rate, *key, detail=detail) for rate, key, detail in checks),
        return_exceptions=True,
    )
    taken = [(rate, key) for (rate, key, _), ok in zip(checks, outcomes, strict=True) if ok is True]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            await _give_back(taken)
            raise outcome
    return taken


#: The account's sign-in columns, read without the ORM (no model instance) on PostgreSQL.
_CREDENTIALS = "SELECT id, password_hash, is_active FROM auth_user WHERE email = $1"


async def _credentials(email: str) -> dict[str, Any] | None:
    """The id, password hash and ``is_active`` of the account ``email``, if any."""
    db = User._meta.db
    if db.capabilities.dialect == "postgres":
        _, rows = await db.execute_query(_CREDENTIALS, [email])
    else:
        rows = await User.filter(email=email).limit(1).values("id", "password_hash", "is_active")
    return dict(rows[0]) if rows else None


async def _sign_in(
    user: dict[str, Any], password: str, *, user_agent: str | None, ip: str | None
) -> dict[str, Any]:
    """Record the sign-in (rehashing a password made with old parameters) and open a
    session: one statement on PostgreSQL (:func:`.sessions.open_session`)."""
    passwords = services().passwords
    rehashed = None
    if passwords.needs_rehash(user["password_hash"]):
        rehashed = await passwords.hash(password)
    return await open_session(
        user["id"],
        user_agent=user_agent,
        ip=ip,
        verified=user["password_hash"],
        password_hash=rehashed,
    )


async def _give_back(taken: list[Taken]) -> None:
    throttle = services().throttle
    await _together([throttle.give_back(rate, *key) for rate, key in taken])
