"""What other plugins may call: facts about users, so nobody else reads ``auth_*`` tables.

::

    from lyo_auth.api import UserInfo, users_by_id, user_by_id, users_by_name

    people = await users_by_id([reply.author_id for reply in replies])  # two queries
    name = people[author_id].display_name if author_id in people else "Deleted user"
    mentioned = await users_by_name(["ada_lovelace", "Bob"])  # @handles -> UserInfo

Ids are the accounts' UUIDs (``Identity.id`` is their text form); both forms are
accepted. Ids without an account (never made, or erased) are absent from the answer;
deactivated accounts are present with ``is_active=False``, so callers decide whether to
show them. The answer is read from the database at the call (no cache, so it is never
stale), whatever the number of ids in two queries (users, then their roles), in batches
of :data:`BATCH` ids.

Changes are announced through the outbox, in the transaction that makes them, so a
plugin keeping its own copy subscribes by type string (see :mod:`lyo_auth.events`):
``auth.user_registered.v1``, ``auth.profile_updated.v1`` (display name, time zone,
locale, bio, avatar), ``auth.preferences_updated.v1``, ``auth.roles_changed.v1``,
``auth.user_deactivated.v1``, and, after ``lyo users erase``, ``auth.user_erased.v1``.

``reset_link(reset_id)`` is for the mailer of ``auth.password_reset_requested.v1``: it
mints the reset's token when the mail is composed (the event carries no token).

Call these where the auth plugin is loaded and started (declare ``requires={"auth":
...}``), in a request, a task or a handler: the kernel has made the database current.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from tortoise.functions import Lower

from .accounts import ResetLink, check_role, reset_link
from .models import User, UserRole
from .schemas import Preferences

__all__ = [
    "BATCH",
    "Preferences",
    "ResetLink",
    "UserInfo",
    "reset_link",
    "user_by_id",
    "user_ids_with_role",
    "users_by_id",
    "users_by_name",
]

#: Ids per query; more are read in several batches.
BATCH = 500


class UserInfo(BaseModel):
    """What other plugins may know about a user (no email address, no secrets)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    display_name: str
    locale: str  # BCP 47, "en" by default
    timezone: str  # IANA, "UTC" by default
    avatar_url: str | None
    roles: tuple[str, ...]  # sorted
    preferences: Preferences  # defaults filled in
    is_active: bool


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a user id (a UUID)") from None


async def users_by_id(ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, UserInfo]:
    """``{id: UserInfo}`` for the ids that have an account; duplicates are fine.
    Raises :class:`ValueError` for an id that is not a UUID (a caller's bug)."""
    wanted = list(dict.fromkeys(_uuid(value) for value in ids))
    found: dict[uuid.UUID, UserInfo] = {}
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        rows = await User.filter(id__in=batch).values(
            "id", "display_name", "locale", "timezone", "avatar_url", "preferences", "is_active"
        )
        roles: dict[uuid.UUID, list[str]] = {}
        for user_id, role in await UserRole.filter(user_id__in=batch).values_list(
            "user_id", "role"
        ):
            roles.setdefault(_uuid(user_id), []).append(role)
        for row in rows:
            user_id = _uuid(row["id"])
            stored = row["preferences"] or {}
            found[user_id] = UserInfo(
                id=user_id,
                display_name=row["display_name"],
                locale=row["locale"],
                timezone=row["timezone"],
                avatar_url=row["avatar_url"],
                roles=tuple(sorted(roles.get(user_id, ()))),
                preferences=Preferences.model_validate(
                    {k: v for k, v in stored.items() if k in Preferences.model_fields}
                ),
                is_active=row["is_active"],
            )
    return found


async def user_by_id(user_id: uuid.UUID | str) -> UserInfo | None:
    """One user's :class:`UserInfo`, ``None`` without an account."""
    return (await users_by_id([user_id])).get(_uuid(user_id))


async def user_ids_with_role(role: str) -> list[str]:
    """The ids (text form) of the active accounts holding ``role``, in id order: the
    audience of a message to a role. An unknown role raises
    :class:`kernel.ValidationFailed` naming the field ``role``."""
    check_role(role)
    rows = await (
        UserRole.filter(role=role, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    return [str(user_id) for user_id in rows]


async def users_by_name(names: Iterable[str]) -> dict[str, UserInfo]:
    """``{name: UserInfo}`` for the names (``@mention`` handles) that designate exactly one
    active account, keyed by the name as given.

    A name matches a display name case-insensitively, and ``_`` in it also stands for a
    space (``ada_lovelace`` finds "Ada Lovelace"). Display names are not unique: a name
    that fits several active accounts is ambiguous and absent, so a mention never reaches
    the wrong person (deactivated accounts neither match nor make a name ambiguous).
    Three queries, whatever the number of names (at most :data:`BATCH` of them), through
    an index on ``lower(display_name)``. On SQLite ``lower`` folds only ASCII letters.
    """
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))[:BATCH]
    keys = {name: {name.lower(), name.lower().replace("_", " ")} for name in wanted}
    if not keys:
        return {}
    rows = (
        await User.annotate(name_key=Lower("display_name"))
        .filter(name_key__in=sorted(set().union(*keys.values())), is_active=True)
        .values_list("id", "name_key")
    )
    holders: dict[str, set[uuid.UUID]] = {}
    for user_id, key in rows:
        holders.setdefault(key, set()).add(_uuid(user_id))
    chosen: dict[str, uuid.UUID] = {}
    for name, candidates in keys.items():
        fits = set().union(*(holders.get(key, set()) for key in candidates))
        if len(fits) == 1:
            chosen[name] = fits.pop()
    people = await users_by_id(chosen.values())
    return {name: people[user_id] for name, user_id in chosen.items() if user_id in people}
