"""Who is calling: :class:`Identity`, the current identity, and :func:`require`.

The kernel owns these so every plugin can check permissions whether or not an
authentication plugin is installed; without one, everybody is anonymous.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, ParamSpec, TypeVar

from kernel.errors import Forbidden, Unauthorized

#: The permission that grants every other one (the admin role maps to it).
ALL_PERMISSIONS = "*"


@dataclass(frozen=True)
class Permission:
    """A permission a plugin declares (a value of its ``permissions`` hook's mapping):
    what it allows, and the roles that get it by default. The auth plugin applies the
    defaults; the operator can change them per permission (``LYO_AUTH__GRANTS``).

    ``{"hello:greet": Permission("Be greeted by name.", default_roles=("learner",))}``
    """

    description: str
    default_roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.default_roles, str):  # ("learner") without the comma
            object.__setattr__(self, "default_roles", (self.default_roles,))
        else:
            object.__setattr__(self, "default_roles", tuple(self.default_roles))


@dataclass(frozen=True)
class Credentials:
    """What a client presented: handed to the ``authenticate`` hook.

    The same object comes from HTTP (``Authorization: Bearer``) and from websockets
    (the ``auth`` message), so one hook implementation serves both.
    """

    token: str | None
    scheme: str = "bearer"
    transport: Literal["http", "websocket", "cli", "task"] = "http"
    remote_addr: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Identity:
    """The caller: an id, roles and the permissions those roles grant."""

    id: str | None = None
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    kind: Literal["anonymous", "user", "service"] = "anonymous"
    expires_at: datetime | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def has(self, permission: str) -> bool:
        return ALL_PERMISSIONS in self.permissions or permission in self.permissions

    def require(self, permission: str | None = None) -> None:
        """Raise 401 if anonymous, 403 if ``permission`` is not granted."""
        if not self.is_authenticated:
            raise Unauthorized()
        if permission is not None and not self.has(permission):
            raise Forbidden(f"Permission {permission!r} is required.", permission=permission)


ANONYMOUS = Identity()

#: The kernel's own permission: read ``/metrics`` and ``/-/plugins`` in staging and
#: production. Roles are granted it like any plugin's permission.
OPERATE = "kernel:operate"

#: Who sends ``LYO_METRICS_TOKEN`` (a metrics scraper) on ``/metrics`` or ``/-/plugins``.
SCRAPER = Identity(id="metrics-scraper", kind="service", permissions=frozenset({OPERATE}))

_current: contextvars.ContextVar[Identity] = contextvars.ContextVar(
    "lyo_identity", default=ANONYMOUS
)


def current_identity() -> Identity:
    """The identity of the request, websocket or task being served (anonymous if none)."""
    return _current.get()


def set_identity(identity: Identity) -> contextvars.Token[Identity]:
    """Make ``identity`` current for this context; returns a token for ``reset``."""
    return _current.set(identity)


P = ParamSpec("P")
R = TypeVar("R")

#: Attribute set on guarded route functions, read by the OpenAPI document.
REQUIRED_PERMISSION_ATTRIBUTE = "_lyo_required_permission"


def require(
    permission: str | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Guard a route (or any coroutine function) with a permission.

    ``@require()`` asks only for a signed-in identity; ``@require("learning:write")``
    also for that permission. Anonymous callers get 401, others without it 403.
    """

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(func)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            current_identity().require(permission)
            return await func(*args, **kwargs)

        setattr(guarded, REQUIRED_PERMISSION_ATTRIBUTE, permission or "")
        return guarded

    return decorate
