"""JSON Web Tokens: signing keys, issuing and strict validation (PyJWT).

Every token carries ``iss, aud, sub, iat, nbf, exp, jti, typ`` and ``sid`` (the session,
i.e. the refresh-token family). Validation pins the one configured algorithm, requires
every claim, checks times, issuer and audience, and the type, so an access token is
never taken for a refresh token or the reverse.

HS* keys: ``LYO_AUTH__SECRET_KEY`` if set, else derived from the kernel's
``LYO_SECRET_KEY`` (HMAC-SHA256 with a label, so the JWT key is never the raw secret
shared with other uses). In development and test without either, a random key is made
per process (tokens die with it; a warning says so). Staging and production always have
``LYO_SECRET_KEY`` (the kernel refuses to start without it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import structlog
from cryptography.hazmat.primitives import serialization

from kernel import Unauthorized

from .settings import AuthSettings

log = structlog.get_logger("lyo.auth")

TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "sid"]
MAX_TOKEN_LENGTH = 4096
_KEY_LABEL = b"lyo-auth:jwt:v1"


@dataclass(frozen=True)
class Keys:
    algorithm: str
    signing: Any
    verifying: Any


def load_keys(settings: AuthSettings, kernel_secret: str | None, env: str) -> Keys:
    """The keys for ``settings.algorithm``; see the module docstring."""
    algorithm = settings.algorithm
    if algorithm.startswith("HS"):
        if settings.secret_key is not None:
            key = settings.secret_key.get_secret_value().encode()
        elif kernel_secret:
            key = hmac.new(kernel_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        else:
            if env not in ("development", "test"):  # the kernel refuses this already
                raise RuntimeError("LYO_SECRET_KEY is required to sign tokens")
            log.warning(
                "LYO_SECRET_KEY is not set: signing tokens with a random per-process key; "
                "tokens stop working on restart and are not shared between processes"
            )
            key = secrets.token_bytes(32)
        if len(key) < 32:
            raise ValueError("LYO_AUTH__SECRET_KEY must be at least 32 bytes")
        return Keys(algorithm, key, key)
    private_pem = _read(settings.private_key, settings.private_key_file)
    assert private_pem is not None  # the settings validator makes sure
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = _read(settings.public_key, settings.public_key_file)
    public = (
        serialization.load_pem_public_key(public_pem.encode())
        if public_pem
        else private.public_key()
    )
    return Keys(algorithm, private, public)


def _read(value: Any, path: Any) -> str | None:
    if value is not None:
        return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
    if path is not None:
        return str(path.read_text("utf-8"))
    return None


def token_digest(token: str) -> str:
    """How tokens are stored: their SHA-256 (they are random enough not to need salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str
    jti: uuid.UUID
    issued_at: int
    expires_at: int


class Tokens:
    """Issue and validate this deployment's tokens."""

    def __init__(self, settings: AuthSettings, keys: Keys) -> None:
        self.settings = settings
        self.keys = keys

    def ttl(self, kind: TokenType) -> int:
        return self.settings.access_ttl if kind == "access" else self.settings.refresh_ttl

    def issue(
        self, kind: TokenType, *, user_id: uuid.UUID, session_id: uuid.UUID, jti: uuid.UUID
    ) -> Issued:
        now = int(time.time())
        expires = now + self.ttl(kind)
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": str(user_id),
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": str(jti),
            "typ": kind,
            "sid": str(session_id),
        }
        token = jwt.encode(claims, self.keys.signing, algorithm=self.keys.algorithm)
        return Issued(token, jti, now, expires)

    def is_ours(self, token: str) -> bool:
        """Whether ``token`` is a JWT naming our issuer (unverified: only to decide whether
        this plugin judges it; tokens of other issuers are left to other plugins)."""
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            return False
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.settings.issuer

    def decode(self, token: str, kind: TokenType) -> dict[str, Any]:
        """The verified claims of ``token``, which must be of type ``kind``; else 401."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("The token is invalid.")
        try:
            claims = jwt.decode(
                token,
                self.keys.verifying,
                algorithms=[self.keys.algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token is invalid.") from None
        if claims.get("typ") != kind:
            raise Unauthorized(f"Expected a token of type {kind!r}.")
        for claim in ("sub", "sid", "jti"):
            try:
                uuid.UUID(str(claims[claim]))
            except ValueError:
                raise Unauthorized("The token is invalid.") from None
        return claims
