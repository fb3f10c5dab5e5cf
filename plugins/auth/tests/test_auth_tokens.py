"""A corpus of bad tokens, each refused with a 401 problem; asymmetric algorithms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from authhelpers import bearer, login, signed_up
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from kernel import Settings

SECRET = "test-only-secret-key-" + "0123456789abcdef" * 3  # 64 bytes: fine for HS512
pytestmark = pytest.mark.auth_settings(SECRET_KEY=SECRET)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256", **header: Any) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=header or None)


def changed(token: str, **updates: Any) -> str:
    """The token's claims with ``updates`` (``None`` removes a claim), signed properly."""
    claims = claims_of(token)
    for name, value in updates.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return sign(claims)


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    return f"{header}.{segment(claims)}.{signature}"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Tokens:
    access: str
    refresh: str
    other_user: str  # an access token of another account


Build = Callable[[Tokens], str]
NOW = int(time.time())

# name -> how to make the bad access token from good ones
ACCESS_CORPUS: dict[str, Build] = {
    "garbage": lambda t: "not-a-jwt",
    "empty-segments": lambda t: "..",
    "garbage-segments": lambda t: "a.b.c",
    "truncated": lambda t: t.access[:-12],
    "oversized": lambda t: t.access + "A" * 5000,
    "signature-replaced": lambda t: t.access.rsplit(".", 1)[0] + "." + b64(b"\x00" * 32),
    "signature-stripped": lambda t: t.access.rsplit(".", 1)[0] + ".",
    "tampered-payload": lambda t: tampered(t.access),
    "alg-none": lambda t: jwt.encode(claims_of(t.access), None, algorithm="none"),
    "alg-None-capitalised": lambda t: (
        f"{segment({'alg': 'None', 'typ': 'JWT'})}.{segment(claims_of(t.access))}."
    ),
    "wrong-alg-hs512": lambda t: sign(claims_of(t.access), algorithm="HS512"),
    "wrong-key": lambda t: sign(claims_of(t.access), key="another-secret-key-of-40-characters!!!"),
    "rs256-own-key": lambda t: sign(claims_of(t.access), key=rsa_key(), algorithm="RS256"),
    "kid-injection": lambda t: sign(claims_of(t.access), key="x" * 32, kid="../../dev/null"),
    "expired": lambda t: changed(t.access, exp=NOW - 60, iat=NOW - 960, nbf=NOW - 960),
    "not-yet-valid": lambda t: changed(t.access, nbf=NOW + 600),
    "issued-in-the-future": lambda t: changed(t.access, iat=NOW + 600),
    "wrong-audience": lambda t: changed(t.access, aud="another-api"),
    "audience-list": lambda t: changed(t.access, aud=["lyo-api", "another-api"]),
    "wrong-issuer": lambda t: changed(t.access, iss="https://evil.example"),
    "missing-iss": lambda t: changed(t.access, iss=None),
    "missing-aud": lambda t: changed(t.access, aud=None),
    "missing-exp": lambda t: changed(t.access, exp=None),
    "missing-iat": lambda t: changed(t.access, iat=None),
    "missing-nbf": lambda t: changed(t.access, nbf=None),
    "missing-jti": lambda t: changed(t.access, jti=None),
    "missing-sub": lambda t: changed(t.access, sub=None),
    "missing-typ": lambda t: changed(t.access, typ=None),
    "missing-sid": lambda t: changed(t.access, sid=None),
    "refresh-token-as-access": lambda t: t.refresh,
    "unknown-type": lambda t: changed(t.access, typ="id"),
    "subject-not-a-uuid": lambda t: changed(t.access, sub="admin"),
    "unknown-session": lambda t: changed(t.access, sid=str(uuid.uuid4())),
    "someone-elses-session": lambda t: changed(t.access, sub=claims_of(t.other_user)["sub"]),
}


@pytest.mark.parametrize("build", ACCESS_CORPUS.values(), ids=ACCESS_CORPUS.keys())
async def test_bad_access_tokens_are_401(lyo_client: Any, build: Build) -> None:
    tokens = await _tokens(lyo_client)
    assert (await lyo_client.get("/api/auth/me", headers=bearer(tokens.access))).status_code == 200
    response = await lyo_client.get("/api/auth/me", headers=bearer(build(tokens)))
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def _tokens(client: Any) -> Tokens:
    pair = await signed_up(client, "ada@example.com")
    other = await signed_up(client, "grace@example.com")
    return Tokens(pair["access_token"], pair["refresh_token"], other["access_token"])


async def _consumed(client: Any, t: Tokens) -> str:
    response = await client.post("/api/auth/refresh", json={"refresh_token": t.refresh})
    assert response.status_code == 200
    return t.refresh


async def _logged_out(client: Any, t: Tokens) -> str:
    await client.post("/api/auth/logout", headers=bearer(t.access))
    return t.refresh


async def _revoked_access(client: Any, t: Tokens) -> str:
    await client.post("/api/auth/logout", headers=bearer(t.access))
    return t.access


REFRESH_CORPUS: dict[str, Callable[[Any, Tokens], Awaitable[str]]] = {
    "consumed": _consumed,
    "family-logged-out": _logged_out,
}


STATIC_REFRESH: dict[str, Build] = {
    "access-token-as-refresh": lambda t: t.access,
    "expired": lambda t: changed(t.refresh, exp=NOW - 60, iat=NOW - 960, nbf=NOW - 960),
    "tampered": lambda t: tampered(t.refresh),
    "forged-with-unknown-jti": lambda t: changed(t.refresh, jti=str(uuid.uuid4())),
    "re-signed-with-other-sid": lambda t: changed(t.refresh, sid=str(uuid.uuid4())),
    "alg-none": lambda t: jwt.encode(claims_of(t.refresh), None, algorithm="none"),
    "garbage": lambda t: "x" * 40,
}


@pytest.mark.parametrize(
    "name", [*REFRESH_CORPUS, *STATIC_REFRESH], ids=[*REFRESH_CORPUS, *STATIC_REFRESH]
)
async def test_bad_refresh_tokens_are_401(lyo_client: Any, name: str) -> None:
    tokens = await _tokens(lyo_client)
    if name in REFRESH_CORPUS:
        token = await REFRESH_CORPUS[name](lyo_client, tokens)
    else:
        token = STATIC_REFRESH[name](tokens)
    response = await lyo_client.post("/api/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401, await response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"


async def test_revoked_access_token_is_401(lyo_client: Any) -> None:
    tokens = await _tokens(lyo_client)
    token = await _revoked_access(lyo_client, tokens)
    response = await lyo_client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert (await response.get_json())["detail"] == "The token has been revoked."


async def test_tokens_of_other_issuers_are_left_to_other_plugins(lyo_client: Any) -> None:
    """A JWT naming another issuer is not this plugin's to judge: public routes stay
    public (anonymous), protected ones answer 401."""
    tokens = await _tokens(lyo_client)
    foreign = changed(tokens.access, iss="https://other.example")
    me = claims_of(tokens.access)["sub"]
    public = await lyo_client.get(f"/api/users/{me}", headers=bearer(foreign))
    assert public.status_code == 200
    ours_but_expired = changed(tokens.access, exp=NOW - 60)
    public = await lyo_client.get(f"/api/users/{me}", headers=bearer(ours_but_expired))
    assert public.status_code == 401
    assert (await public.get_json())["detail"] == "The token has expired."


def _pem(key: Any) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [("RS256", rsa_key), ("EdDSA", ed25519.Ed25519PrivateKey.generate)],
    ids=["RS256", "EdDSA"],
)
async def test_asymmetric_keys(
    lyo_settings: Settings,
    lyo_plugins: list[object],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    algorithm: str,
    make_key: Callable[[], Any],
) -> None:
    """Tokens signed with a configured private key (from a file) verify with the public
    key; the public key used as an HMAC secret (algorithm confusion) does not."""
    from kernel import create_app

    private, public = _pem(make_key())
    (tmp_path / "private.pem").write_text(private)
    monkeypatch.setenv("LYO_AUTH__ALGORITHM", algorithm)
    monkeypatch.setenv("LYO_AUTH__PRIVATE_KEY_FILE", str(tmp_path / "private.pem"))
    monkeypatch.setenv("LYO_AUTH__PUBLIC_KEY", public)
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with app.test_app():
        app.kernel.activate()
        client = app.test_client()
        pair = await signed_up(client, "ada@example.com")
        assert jwt.get_unverified_header(pair["access_token"])["alg"] == algorithm
        jwt.decode(
            pair["access_token"], public, algorithms=[algorithm], audience="lyo-api", issuer="lyo"
        )
        assert (
            await client.get("/api/auth/me", headers=bearer(pair["access_token"]))
        ).status_code == 200
        confused = (
            f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims_of(pair['access_token']))}"
        )
        mac = hmac.new(public.encode(), confused.encode(), hashlib.sha256).digest()
        response = await client.get("/api/auth/me", headers=bearer(f"{confused}.{b64(mac)}"))
        assert response.status_code == 401
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 200
        await login(client, "ada@example.com")
