"""A local server speaking FCM HTTP v1's contract, over real sockets: the OAuth2 token
endpoint (checks the service account's RS256 JWT) and ``messages:send`` with FCM's
answers and error bodies, chosen by the device token's prefix:

- ``dead:...``  404 ``NOT_FOUND`` with errorCode ``UNREGISTERED``
- ``busy:...``  429 ``RESOURCE_EXHAUSTED`` (``QUOTA_EXCEEDED``) with ``Retry-After: 1``
  the first time, then 200
- ``down:...``  503 ``UNAVAILABLE``, always
- otherwise    200 ``{"name": "projects/<p>/messages/<n>"}``
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROJECT = "lyo-test"
ACCESS_TOKEN = "ya29.local-test-token"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections under concurrent load


class FcmServer:
    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = key.public_key()
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.sent: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        self.http = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def credentials(self) -> dict[str, str]:
        return {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "k1",
            "private_key": self.private_pem,
            "client_email": "lyo@lyo-test.iam.gserviceaccount.com",
            "token_uri": f"{self.url}/token",
        }

    def __enter__(self) -> FcmServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # a connection per request: faster here than keep-alive
            disable_nagle_algorithm = True  # headers and body are two writes

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any], **headers: str) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(data)

            def _error(
                self, status: int, code: str, message: str, fcm: str | None, **headers: str
            ) -> None:
                details = (
                    [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": fcm,
                        }
                    ]
                    if fcm
                    else []
                )
                body = {
                    "error": {
                        "code": status,
                        "message": message,
                        "status": code,
                        "details": details,
                    }
                }
                self._answer(status, body, **headers)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/token":
                    form = parse_qs(raw.decode())
                    claims = jwt.decode(
                        form["assertion"][0],
                        server.public_key,
                        algorithms=["RS256"],
                        audience=f"{server.url}/token",
                    )
                    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                    assert "firebase.messaging" in claims["scope"]
                    with server.lock:
                        server.tokens_issued += 1
                    self._answer(
                        200,
                        {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"},
                    )
                    return
                if self.path != f"/v1/projects/{PROJECT}/messages:send":
                    self._error(404, "NOT_FOUND", "no such method", None)
                    return
                if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                    self._error(401, "UNAUTHENTICATED", "bad credentials", None)
                    return
                message = json.loads(raw)["message"]
                token = message["token"]
                with server.lock:
                    server.seen[token] = server.seen.get(token, 0) + 1
                    count = server.seen[token]
                if token.startswith("dead:"):
                    self._error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
                elif token.startswith("busy:") and count == 1:
                    self._error(
                        429,
                        "RESOURCE_EXHAUSTED",
                        "Quota exceeded.",
                        "QUOTA_EXCEEDED",
                        Retry_After="1",
                    )
                elif token.startswith("down:"):
                    self._error(503, "UNAVAILABLE", "The service is unavailable.", "UNAVAILABLE")
                else:
                    with server.lock:
                        server.sent.append(message)
                        number = len(server.sent)
                    self._answer(200, {"name": f"projects/{PROJECT}/messages/0:{number}"})

        return Handler


if __name__ == "__main__":  # a server of its own process (bench/notifications.py)
    import sys

    with FcmServer() as running:
        print(json.dumps({"url": running.url, "credentials": running.credentials()}), flush=True)
        sys.stdin.read()  # until the parent closes our stdin
