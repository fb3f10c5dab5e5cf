"""A local server speaking APNs' provider API over HTTP/2 and TLS (hypercorn, with a
certificate made for the test): ``POST /3/device/{token}`` checks the ES256 provider
token, the topic and push type, and answers as APNs does, by the token's first byte:

- ``00..`` 400 ``{"reason": "BadDeviceToken"}``
- ``11..`` 410 ``{"reason": "Unregistered", "timestamp": ...}``
- ``22..`` 429 ``{"reason": "TooManyRequests"}`` with ``Retry-After: 1`` the first
  time, then 200
- ``33..`` 503 ``{"reason": "ServiceUnavailable"}``
- otherwise 200 with an ``apns-id`` header
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config

from kernel.testing import free_port

TEAM, KEY_ID, TOPIC = "TEAM123456", "KEY1234567", "org.lyo.app"


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "apns-cert.pem", folder / "apns-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class ApnsServer:
    def __init__(self) -> None:
        signing = ec.generate_private_key(ec.SECP256R1())
        self.public_key = signing.public_key()
        self.p8 = signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.sent: list[dict[str, Any]] = []
        self.versions: set[str] = set()
        self.seen: dict[str, int] = {}
        self.url = ""
        self.ca_file = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.versions.add(scope["http_version"])
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status, answer, extra = self._answer(scope["path"], headers, body)
        data = json.dumps(answer).encode() if answer else b""
        out = [(b"content-type", b"application/json"), *extra]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": data})

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None, list[tuple[bytes, bytes]]]:
        if not path.startswith("/3/device/"):
            return 404, {"reason": "BadPath"}, []
        scheme, _, token = headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"])
            assert scheme == "bearer" and claims["iss"] == TEAM
            assert jwt.get_unverified_header(token)["kid"] == KEY_ID
        except Exception:
            return 403, {"reason": "InvalidProviderToken"}, []
        if headers.get("apns-topic") != TOPIC:
            return 400, {"reason": "TopicDisallowed"}, []
        if headers.get("apns-push-type") != "alert":
            return 400, {"reason": "InvalidPushType"}, []
        device = path.removeprefix("/3/device/")
        self.seen[device] = self.seen.get(device, 0) + 1
        if device.startswith("00"):
            return 400, {"reason": "BadDeviceToken"}, []
        if device.startswith("11"):
            return 410, {"reason": "Unregistered", "timestamp": 1700000000000}, []
        if device.startswith("22") and self.seen[device] == 1:
            return 429, {"reason": "TooManyRequests"}, [(b"retry-after", b"1")]
        if device.startswith("33"):
            return 503, {"reason": "ServiceUnavailable"}, []
        self.sent.append({"device": device, **json.loads(body)})
        return 200, None, [(b"apns-id", str(uuid.uuid4()).upper().encode())]


@asynccontextmanager
async def apns_server(folder: Path) -> AsyncIterator[ApnsServer]:
    """Serve an :class:`ApnsServer` with HTTP/2 over TLS on a free port."""
    app = ApnsServer()
    cert_file, key_file = _certificate(folder)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.alpn_protocols = ["h2"]
    config.accesslog = config.errorlog = None
    app.url, app.ca_file = f"https://127.0.0.1:{port}", str(cert_file)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    try:
        yield app
    finally:
        stop.set()
        await task
