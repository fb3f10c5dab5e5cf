"""Push providers, both on httpx, per process at most ``push_concurrency`` requests in
flight each.

- FCM HTTP v1: an OAuth2 access token from the service account's signed JWT (RS256,
  cached until shortly before it expires), then
  ``POST {base}/v1/projects/{project}/messages:send``.
- APNs: HTTP/2 (httpx with h2) ``POST {base}/3/device/{token}`` with token-based auth,
  an ES256 JWT from the ``.p8`` key renewed every 50 minutes (Apple refuses tokens older
  than an hour and ones renewed more often than every 20 minutes).

aioapns was the first choice for APNs, but its hosts are fixed, so it cannot be pointed
at a local test server."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from .settings import plugin

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
#: FCM error codes that mean the token will never work again: the device goes.
DEAD_TOKEN = {"UNREGISTERED", "SENDER_ID_MISMATCH"}


@dataclass(frozen=True)
class Outcome:
    """One provider answer: sent (``message_id``), a dead token, or an error to retry
    (``retry_after`` when the provider said when)."""

    status: int
    message_id: str | None = None
    error: str | None = None
    dead_token: bool = False
    retry: bool = False
    retry_after: float | None = None


class NotConfigured(RuntimeError):
    pass


class Fcm:
    def __init__(self, credentials: dict[str, Any], base_url: str, concurrency: int) -> None:
        self.credentials = credentials
        self.project = credentials["project_id"]
        self.base_url = base_url.rstrip("/")
        # HTTP/2 where the server offers it (FCM does, over TLS): one connection carries
        # every request in flight; plain HTTP/1.1 keeps connections alive otherwise
        self.http = httpx.AsyncClient(http2=True, timeout=httpx.Timeout(10.0), trust_env=False)
        self.limit = asyncio.Semaphore(concurrency)
        self._token: tuple[str, float] | None = None
        self._refresh = asyncio.Lock()

    @classmethod
    def from_settings(cls) -> Fcm:
        settings = plugin.settings
        raw = settings.fcm_credentials.strip()
        if not raw:
            raise NotConfigured("set LYO_NOTIFICATIONS__FCM_CREDENTIALS to send Android push")
        text = raw if raw.startswith("{") else Path(raw).read_text()
        return cls(json.loads(text), settings.fcm_base_url, settings.push_concurrency)

    async def access_token(self) -> str:
        async with self._refresh:
            if self._token and self._token[1] > time.time() + 60:
                return self._token[0]
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": self.credentials["client_email"],
                    "scope": SCOPE,
                    "aud": self.credentials["token_uri"],
                    "iat": now,
                    "exp": now + 3600,
                },
                self.credentials["private_key"],
                algorithm="RS256",
                headers={"kid": self.credentials.get("private_key_id", "")},
            )
            response = await self.http.post(
                self.credentials["token_uri"],
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
            response.raise_for_status()
            body = response.json()
            self._token = (body["access_token"], now + float(body.get("expires_in", 3600)))
            return self._token[0]

    async def send(self, token: str, title: str, body: str, data: dict[str, str]) -> Outcome:
        message = {
            "message": {
                "token": token,
                "notification": {"title": title, "body": body},
                "data": data,
            }
        }
        async with self.limit:
            headers = {"Authorization": f"Bearer {await self.access_token()}"}
            response = await self.http.post(
                f"{self.base_url}/v1/projects/{self.project}/messages:send",
                json=message,
                headers=headers,
            )
        return _outcome(response)

    async def close(self) -> None:
        await self.http.aclose()


def _outcome(response: httpx.Response) -> Outcome:
    status = response.status_code
    if status == 200:
        return Outcome(status, message_id=str(response.json().get("name", "")))
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    codes = {d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict)} | {
        error.get("status")
    }
    text = f"{error.get('status') or status}: {error.get('message') or response.text[:200]}"
    if codes & DEAD_TOKEN or (status == 400 and "registration token" in text.lower()):
        return Outcome(status, error=text[:500], dead_token=True)
    retry_after = response.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    return Outcome(status, error=text[:500], retry=status == 429 or status >= 500, retry_after=wait)


#: APNs reasons that mean the token will never work again: the device goes.
APNS_DEAD = {"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"}


class Apns:
    def __init__(self) -> None:
        settings = plugin.settings
        raw = settings.apns_key.strip()
        if not raw:
            raise NotConfigured("set LYO_NOTIFICATIONS__APNS_KEY (and KEY_ID, TEAM_ID, TOPIC)")
        self.key = raw if raw.startswith("-----BEGIN") else Path(raw).read_text()
        self.key_id, self.team_id, self.topic = (
            settings.apns_key_id,
            settings.apns_team_id,
            settings.apns_topic,
        )
        self.base_url = settings.apns_base_url.rstrip("/")
        verify: ssl.SSLContext | bool = True
        if settings.apns_ca_file:
            verify = ssl.create_default_context(cafile=settings.apns_ca_file)
        self.http = httpx.AsyncClient(
            http2=True, verify=verify, timeout=httpx.Timeout(10.0), trust_env=False
        )
        self.limit = asyncio.Semaphore(settings.push_concurrency)
        self._token: tuple[str, float] | None = None

    def bearer(self) -> str:
        now = time.time()
        if self._token is None or self._token[1] < now - 50 * 60:
            signed = jwt.encode(
                {"iss": self.team_id, "iat": int(now)},
                self.key,
                algorithm="ES256",
                headers={"kid": self.key_id},
            )
            self._token = (signed, now)
        return self._token[0]

    async def send(self, token: str, title: str, body: str, data: dict[str, str]) -> Outcome:
        payload = {"aps": {"alert": {"title": title, "body": body}}, **data}
        headers = {
            "authorization": f"bearer {self.bearer()}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
        }
        async with self.limit:
            response = await self.http.post(
                f"{self.base_url}/3/device/{token}", json=payload, headers=headers
            )
        status = response.status_code
        if status == 200:
            return Outcome(status, message_id=response.headers.get("apns-id", ""))
        try:
            reason = str(response.json().get("reason", ""))
        except ValueError:
            reason = ""
        text = f"{reason or status}"
        if reason in APNS_DEAD or status == 410:
            return Outcome(status, error=text, dead_token=True)
        retry_after = response.headers.get("Retry-After")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return Outcome(status, error=text, retry=status == 429 or status >= 500, retry_after=wait)

    async def close(self) -> None:
        await self.http.aclose()


_clients: dict[tuple[int, str], Fcm | Apns] = {}


def client(provider: str) -> Fcm | Apns:
    """This kernel's client for ``provider`` (``fcm``, ``apns``), made on first use and
    closed at shutdown; :class:`NotConfigured` without its settings."""
    key = (id(plugin.kernel), provider)
    if key not in _clients:
        _clients[key] = Fcm.from_settings() if provider == "fcm" else Apns()
    return _clients[key]


async def close() -> None:
    for key in [k for k in _clients if k[0] == id(plugin.kernel)]:
        await _clients.pop(key).close()
