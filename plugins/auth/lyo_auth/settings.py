"""The plugin's settings, read from ``LYO_AUTH__<FIELD>`` (``LYO_AUTH__ACCESS_TTL=600``).

Roles map to permissions: each plugin grants its permissions to default roles (declared
with ``kernel.Permission(..., default_roles=...)``); ``grants`` changes that per
permission (``LYO_AUTH__GRANTS='{"learning:write": ["instructor", "editor"]}'``; ``[]``:
nobody by default), and ``roles`` adds permissions to roles as one JSON object
(``LYO_AUTH__ROLES='{"admin": ["*"], "auditor": ["auth:users.read"]}'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import limits
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from kernel import CommaList, PluginHandle

NAME = "auth"
#: How the plugin's code reaches the running kernel: ``plugin.settings``, ``plugin.cache``...
plugin = PluginHandle(NAME)

Algorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]

#: The roles before plugins' defaults and ``grants`` apply (plugins grant the rest).
DEFAULT_ROLES: dict[str, list[str]] = {"admin": ["*"], "instructor": [], "learner": []}


class AuthSettings(BaseModel):
    """Every field is ``LYO_AUTH__<NAME>``; the defaults suit development and production."""

    # -- tokens --------------------------------------------------------------------------
    issuer: str = Field(default="lyo", min_length=1, description="The JWT 'iss' claim.")
    audience: str = Field(default="lyo-api", min_length=1, description="The JWT 'aud' claim.")
    algorithm: Algorithm = Field(
        default="HS256",
        description="HS* sign with a key derived from LYO_SECRET_KEY (or AUTH__SECRET_KEY); "
        "RS*/ES*/EdDSA with private_key[_file], verified with public_key[_file].",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="HMAC key for HS*; default: derived from LYO_SECRET_KEY."
    )
    private_key: SecretStr | None = Field(default=None, description="PEM private key.")
    private_key_file: Path | None = None
    public_key: str | None = Field(default=None, description="PEM public key (optional).")
    public_key_file: Path | None = None
    access_ttl: int = Field(default=15 * 60, ge=30, le=24 * 3600, description="Seconds.")
    refresh_ttl: int = Field(default=30 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    leeway: int = Field(default=0, ge=0, le=300, description="Clock skew tolerated, seconds.")
    state_ttl: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Seconds a session's user state (active, roles) is cached; revocations "
        "are immediate regardless, role changes apply within this time. 0: no cache.",
    )
    token_cache_ttl: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Seconds a process trusts an access token it has verified before checking "
        "the revocation list and session state again. Revocations and role changes reach "
        "every process at once through the hub; this bounds how long one that missed the "
        "message (Redis pub/sub is at most once) keeps trusting the token. 0: no cache.",
    )
    # -- passwords -----------------------------------------------------------------------
    password_min_length: int = Field(default=12, ge=8, le=128)
    password_max_length: int = Field(default=1024, ge=64, le=4096)
    # OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    argon2_memory_cost: int = Field(default=19 * 1024, ge=8, le=4 * 1024 * 1024, description="KiB")
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    reset_ttl: int = Field(default=30 * 60, ge=60, le=7 * 24 * 3600, description="Seconds.")
    reset_url: str | None = Field(
        default=None,
        description="Link template for reset mails, with '{token}' (https://app/reset?t={token}).",
    )
    # -- abuse ---------------------------------------------------------------------------
    login_account_limit: str = Field(
        default="5/15 minutes",
        description="Failed sign-ins per account from one client address before that "
        "address is locked out of that account (the brute-force lock).",
    )
    login_account_ceiling: str = Field(
        default="100/hour",
        description="Failed sign-ins per account from all addresses together before the "
        "account is closed to addresses it has never signed in from (known ones still work).",
    )
    login_ip_limit: str = Field(
        default="100/15 minutes",
        description="Failed sign-ins per client address, over all accounts, before the "
        "address is closed to accounts that have never signed in from it.",
    )
    known_address_ttl: int = Field(
        default=30 * 24 * 3600,
        ge=0,
        le=365 * 24 * 3600,
        description="Seconds a successful sign-in keeps its (account, address) pair known, "
        "exempt from the account ceiling and the address limit. 0: nothing is remembered.",
    )
    register_limit: str = Field(default="10/hour", description="Registrations per client IP.")
    forgot_limit: str = Field(
        default="3/hour", description="Reset requests per account from one client address."
    )
    forgot_account_limit: str = Field(
        default="10/hour", description="Reset requests per account from all addresses."
    )
    # -- profiles and roles --------------------------------------------------------------
    avatar_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    roles: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_ROLES))
    grants: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per permission, the roles that get it, instead of the declaring "
        'plugin\'s defaults: {"learning:write": ["instructor"]}.',
    )
    default_roles: CommaList = Field(default_factory=lambda: ["learner"])
    admin_role: str = "admin"
    first_user_admin: bool = Field(
        default=True,
        description="In development only: the first account registered gets admin_role.",
    )

    @field_validator(
        "login_account_limit",
        "login_account_ceiling",
        "login_ip_limit",
        "register_limit",
        "forgot_limit",
        "forgot_account_limit",
        mode="after",
    )
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like '5/15 minutes'") from None
        return value

    @field_validator("roles", mode="after")
    @classmethod
    def _role_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from lyo_auth.models import ROLE_PATTERN

        for role in value:
            if not ROLE_PATTERN.match(role):
                raise ValueError(f"role name {role!r} must match {ROLE_PATTERN.pattern}")
        return value

    @field_validator("grants", mode="after")
    @classmethod
    def _granted_role_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from lyo_auth.models import ROLE_PATTERN

        for permission, roles in value.items():
            for role in roles:
                if not ROLE_PATTERN.match(role):
                    raise ValueError(
                        f"grants[{permission!r}]: role name {role!r} must match "
                        f"{ROLE_PATTERN.pattern}"
                    )
        return value

    def with_grants(self, defaults: Mapping[str, Iterable[str]]) -> AuthSettings:
        """These settings with ``roles`` completed: each permission of ``defaults``
        (``{permission: roles}``, the plugins' declarations) granted to its roles unless
        ``grants`` names it, then each of ``grants`` granted to exactly its roles."""
        from lyo_auth.models import ROLE_PATTERN

        table = {role: list(permissions) for role, permissions in self.roles.items()}
        chosen = {p: roles for p, roles in defaults.items() if p not in self.grants}
        for permission in self.grants:
            for permissions in table.values():
                if permission in permissions:
                    permissions.remove(permission)
        for permission, roles in [*chosen.items(), *self.grants.items()]:
            for role in roles:
                if not ROLE_PATTERN.match(role):
                    continue  # a plugin's odd role name: not a role anyone can hold
                granted = table.setdefault(role, [])
                if permission not in granted:
                    granted.append(permission)
        return self.model_copy(update={"roles": table})

    @model_validator(mode="after")
    def _consistent(self) -> AuthSettings:
        unknown = [r for r in [*self.default_roles, self.admin_role] if r not in self.roles]
        if unknown:
            raise ValueError(f"roles {unknown} are not defined in 'roles'")
        asymmetric = not self.algorithm.startswith("HS")
        has_private = self.private_key is not None or self.private_key_file is not None
        if asymmetric and not has_private:
            raise ValueError(f"algorithm {self.algorithm} needs private_key or private_key_file")
        return self

    def permissions_of(self, roles: frozenset[str] | set[str] | list[str]) -> frozenset[str]:
        """The permissions granted by ``roles`` (unknown roles grant nothing)."""
        return frozenset(p for role in roles for p in self.roles.get(role, ()))
