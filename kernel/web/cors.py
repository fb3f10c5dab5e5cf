"""CORS, answered inside the kernel's middleware with headers computed once.

quart-cors does the same work in an ``after_request`` function that rebuilds its
header sets for every response; measured here that cost about 15 % of the
throughput of a trivial route, so the kernel answers CORS itself. Websockets are not
CORS: ``/ws`` checks ``Origin`` itself.
"""

from __future__ import annotations

Header = tuple[bytes, bytes]

METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"


class Cors:
    """Which browser origins may call the API, and the headers that say so."""

    def __init__(
        self,
        origins: list[str],
        *,
        credentials: bool,
        allow_headers: list[str],
        expose_headers: list[str],
        max_age: int = 600,
    ) -> None:
        self.any = "*" in origins
        self.origins = {o.rstrip("/").lower().encode() for o in origins if o != "*"}
        self.credentials = credentials
        shared: list[Header] = [(b"vary", b"Origin")]
        if credentials:
            shared.append((b"access-control-allow-credentials", b"true"))
        self._simple = [
            *shared,
            (b"access-control-expose-headers", ", ".join(expose_headers).encode()),
        ]
        self._preflight = [
            *shared,
            (b"access-control-allow-methods", METHODS),
            (b"access-control-allow-headers", ", ".join(allow_headers).encode()),
            (b"access-control-max-age", str(max_age).encode()),
        ]

    def allows(self, origin: bytes) -> bool:
        return self.any or origin.rstrip(b"/").lower() in self.origins

    def _allow_origin(self, origin: bytes) -> Header:
        # "*" cannot carry credentials: then the origin itself is echoed
        value = b"*" if self.any and not self.credentials else origin
        return (b"access-control-allow-origin", value)

    def response_headers(self, origin: bytes) -> list[Header]:
        """Headers for an actual request from an allowed ``origin``."""
        return [self._allow_origin(origin), *self._simple]

    def preflight_headers(self, origin: bytes) -> list[Header]:
        """Headers answering an allowed ``origin``'s preflight (OPTIONS) request."""
        return [self._allow_origin(origin), *self._preflight]
