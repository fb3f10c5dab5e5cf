"""The kernel's one ASGI middleware: request id, trusted hosts, unavailable plugins,
security headers, gzip, metrics and the access log.

One lean layer instead of a stack of ``before_request``/``after_request`` functions:
each of those costs a coroutine per request, and measured here a naive stack kept
only 0.6 of bare Quart's throughput.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import structlog

from kernel.errors import PROBLEM_JSON
from kernel.metrics import HTTP_REQUESTS
from kernel.web.cors import Cors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:+/=-]{1,128}$")
#: The scope key holding the route template; the app sets it when a rule matches.
ROUTE_KEY = "lyo.route"
REQUEST_ID_KEY = "lyo.request_id"

#: Responses are buffered for gzip up to this size; larger ones stream uncompressed.
MAX_GZIP_BUFFER = 4 * 1024 * 1024
_COMPRESSIBLE = (b"application/json", b"application/problem+json", b"text/", b"application/xml")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
#: Every answer is data, never a page: nothing may load, run or frame it.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
#: Servers name themselves in ``Server``; the kernel's answers say only this (Hypercorn's
#: own header is turned off, Granian's, which cannot be, is replaced by it).
SERVER_HEADER = (b"server", b"lyo")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is sane, otherwise a new one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER and _SANE_REQUEST_ID.match(value):
            return value.decode()
    return os.urandom(16).hex()


def problem_body(
    status: int, title: str, detail: str, instance: str, request_id: str, **extra: Any
) -> bytes:
    return orjson.dumps(
        {
            "type": extra.pop("type", "about:blank"),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "request_id": request_id,
            **extra,
        }
    )


class KernelMiddleware:
    """Wraps the Quart ASGI app. ``unavailable`` returns the problem members to answer
    with when a path belongs to a plugin that is not serving, else ``None``;
    ``activate`` runs first in every connection's context (the database context)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_hosts: list[str],
        gzip_min_size: int,
        hsts: bool,
        access_log: Callable[[dict[str, Any]], None] | None,
        unavailable: Callable[[str], dict[str, Any] | None],
        activate: Callable[[], object] = lambda: None,
        cors: Cors | None = None,
        warn_forwarded: bool = False,
        pages: dict[str, bytes] | None = None,
    ) -> None:
        self.app = app
        # LYO_PROXY_HOPS is 0 (every client is its own address), yet a proxy may be in
        # front: the first X-Forwarded-For seen is worth one warning per process
        self.warn_forwarded = warn_forwarded
        self.trusted = None if "*" in trusted_hosts else [h.lower() for h in trusted_hosts]
        # "*.example.com" matches example.com and any name ending in .example.com
        patterns = self.trusted or []
        self._trusted_names = {p[2:] if p.startswith("*.") else p for p in patterns}
        self._trusted_suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))
        self.gzip_min_size = gzip_min_size
        self.extra_headers = [*SECURITY_HEADERS, SERVER_HEADER]
        if hsts:
            self.extra_headers.append(HSTS)
        #: ``{path: Content-Security-Policy}`` for the pages among the answers (/docs)
        self.pages = pages or {}
        self.write_access = access_log
        self.unavailable = unavailable
        self.activate = activate
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.activate()  # e.g. the database context, for this request and its tasks
        if scope["type"] != "http":
            if scope["type"] != "websocket" or await self._admit_websocket(scope, send):
                await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # one pass over the headers: the first sane request id, gzip, the first host
        request_id: str | None = None
        accepts_gzip = False
        host: bytes | None = None
        origin: bytes | None = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accepts_gzip = accepts_gzip or b"gzip" in value
            elif name == REQUEST_ID_HEADER:
                if request_id is None and _SANE_REQUEST_ID.match(value):
                    request_id = value.decode()
            elif name == b"host" and host is None:
                host = value
            elif name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = scope["method"] == "OPTIONS"
            elif name == b"x-forwarded-for" and self.warn_forwarded:
                self.warn_forwarded = False
                structlog.get_logger("lyo.http").warning(
                    "X-Forwarded-For received but LYO_PROXY_HOPS is 0: every client behind "
                    "a proxy gets the proxy's address (one rate limit for all); set "
                    "LYO_PROXY_HOPS to the number of proxies in front of the app",
                    client=(scope.get("client") or ("-",))[0],
                )
        if request_id is None:
            request_id = os.urandom(16).hex()  # as random as uuid4().hex, a sixth the cost
        scope[REQUEST_ID_KEY] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response_status = 500
        pending_start: Message | None = None
        extra_headers = [
            *self.extra_headers,
            (REQUEST_ID_HEADER, request_id.encode()),
            (b"content-security-policy", self.pages.get(scope["path"], API_CSP)),
        ]
        cors_allowed = origin is not None and self.cors is not None and self.cors.allows(origin)
        if cors_allowed and not preflight:
            extra_headers += self.cors.response_headers(origin)  # type: ignore[union-attr, arg-type]
        buffered: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal response_status, pending_start
            if message["type"] == "http.response.start":
                response_status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra_headers]
                if accepts_gzip and _compressible(message["headers"], self.gzip_min_size):
                    pending_start = message  # hold it until the body is complete
                    return
            elif message["type"] == "http.response.body" and pending_start is not None:
                buffered.append(message.get("body", b""))
                size = sum(map(len, buffered))
                if message.get("more_body") and size < MAX_GZIP_BUFFER:
                    return
                start, pending_start = pending_start, None
                body = b"".join(buffered)
                if not message.get("more_body") and size >= self.gzip_min_size:
                    body = gzip.compress(body, compresslevel=6)
                    start["headers"] = _gzip_headers(start["headers"], len(body))
                message = {**message, "body": body}
                await send(start)
            await send(message)

        try:
            problem = self._reject(scope, request_id, host)
            if problem is not None:
                response_status = await _send_problem(send_wrapper, problem)
            elif cors_allowed and preflight:
                headers = self.cors.preflight_headers(origin)  # type: ignore[union-attr, arg-type]
                await send_wrapper(
                    {"type": "http.response.start", "status": 204, "headers": headers}
                )
                await send_wrapper({"type": "http.response.body", "body": b""})
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get(ROUTE_KEY, "<unmatched>")
            HTTP_REQUESTS.labels(scope["method"], route, response_status).observe(elapsed)
            if self.write_access is not None:
                self.write_access(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": response_status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": (scope.get("client") or ("-",))[0],
                        "request_id": request_id,
                    }
                )
            structlog.contextvars.unbind_contextvars("request_id")

    async def _admit_websocket(self, scope: Scope, send: Send) -> bool:
        """Refuse the handshake (the server answers 403) for an untrusted Host, which
        DNS rebinding would otherwise let through, or a plugin that is down."""
        request_id = request_id_from(scope["headers"])
        scope[REQUEST_ID_KEY] = request_id
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        if self._reject(scope, request_id, host) is None:
            return True
        await send({"type": "websocket.close", "code": 1008})
        return False

    def _reject(
        self, scope: Scope, request_id: str, host_header: bytes | None
    ) -> dict[str, Any] | None:
        path = scope["path"]
        if self.trusted is not None:
            host = (host_header or b"").decode("latin-1")
            host = host.rsplit(":", 1)[0].lower() if not host.endswith("]") else host.lower()
            if host not in self._trusted_names and not host.endswith(self._trusted_suffixes):
                return {
                    "status": 400,
                    "title": "Bad Request",
                    "detail": f"Host {host!r} is not trusted.",
                    "instance": path,
                    "request_id": request_id,
                }
        problem = self.unavailable(path)
        if problem is not None:
            return {**problem, "instance": path, "request_id": request_id}
        return None


async def _send_problem(send: Send, problem: dict[str, Any]) -> int:
    body = problem_body(**problem)
    status: int = problem["status"]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


def _compressible(headers: list[tuple[bytes, bytes]], min_size: int) -> bool:
    """Whether a response with these headers is worth holding back to gzip."""
    content_type = b""
    for name, value in headers:
        if name == b"content-encoding":
            return False
        if name == b"content-length" and int(value) < min_size:
            return False
        if name == b"content-type":
            content_type = value
    return content_type.startswith(_COMPRESSIBLE) and not content_type.startswith(
        b"text/event-stream"
    )


def _gzip_headers(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k not in (b"content-length", b"vary")]
    vary = [v for k, v in headers if k == b"vary"]
    vary_value = b", ".join([*vary, b"Accept-Encoding"]) if vary else b"Accept-Encoding"
    return [
        *kept,
        (b"content-encoding", b"gzip"),
        (b"content-length", str(length).encode()),
        (b"vary", vary_value),
    ]
