"""Access tokens this process has verified: the token check of a request, without work.

Verifying a token (signature, claims, the revocation list and the session's state: one
``MGET``, and SQL only when the state is not cached) costs several times a trivial
request. A client sends the same token for minutes, so each process keeps what it found,
keyed by the exact token text (a forged or altered token never matches), for
``LYO_AUTH__TOKEN_CACHE_TTL`` seconds at most and never past the token's expiry.

Invalidation: whatever revokes a session or changes what its identity holds (sign-out,
refresh-token reuse, password change or reset, deactivation, erasure, a role granted or
taken) drops the session's entries here at once and announces it on the hub topic
:data:`TOPIC`, which every API process listens to (:meth:`kernel.Kernel.hub`'s
``listen``), so the others drop theirs within a Redis round trip. Redis pub/sub delivers
at most once: when that message is lost (Redis restarting, a listener reconnecting), a
process keeps trusting the token until its entry's TTL runs out, so **a revocation takes
effect everywhere within ``token_cache_ttl`` seconds (5 by default) at worst**, and at
once in the process that made it. ``token_cache_ttl=0`` turns the cache off (every
request checks Redis).

A verification that was under way while an invalidation arrived stores nothing (the
:attr:`VerifiedTokens.generation` it started with is stale), so it cannot put back what
was just dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kernel import Identity

#: The hub topic of invalidations: ``{"sids": [...], "jtis": [...]}``.
TOPIC = "auth:invalidated"


@dataclass(slots=True)
class _Entry:
    identity: Identity
    keys: tuple[str, str]  # ("sid:<session>", "jti:<token id>")
    fresh_until: float  # time.monotonic()
    expires: float  # time.time(): the token's exp plus the leeway


class VerifiedTokens:
    """A bounded map of token text to the identity it was verified as."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        #: incremented by every invalidation (see the module docstring)
        self.generation = 0
        self._entries: dict[str, _Entry] = {}
        self._tokens_of: dict[str, set[str]] = {}  # "sid:..." / "jti:..." -> tokens

    def get(self, token: str) -> Identity | None:
        """The identity ``token`` was verified as, while that is fresh."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.monotonic() >= entry.fresh_until or time.time() >= entry.expires:
            self._drop(token)
            return None
        return entry.identity

    def put(
        self, token: str, identity: Identity, claims: dict[str, Any], leeway: int, generation: int
    ) -> None:
        """Remember ``token`` (verified from ``generation`` on) as ``identity``."""
        if self.ttl <= 0 or generation != self.generation:
            return
        while len(self._entries) >= self.max_entries:
            self._drop(next(iter(self._entries)))  # the oldest
        keys = (f"sid:{claims['sid']}", f"jti:{claims['jti']}")
        self._entries[token] = _Entry(
            identity, keys, time.monotonic() + self.ttl, int(claims["exp"]) + leeway
        )
        for key in keys:
            self._tokens_of.setdefault(key, set()).add(token)

    def forget(self, sids: Iterable[object] = (), jtis: Iterable[object] = ()) -> None:
        """Drop the entries of sessions ``sids`` and tokens ``jtis``."""
        self.generation += 1
        for key in [*(f"sid:{s}" for s in sids), *(f"jti:{j}" for j in jtis)]:
            for token in self._tokens_of.pop(key, ()):
                self._drop(token)

    def heard(self, data: Any) -> None:
        """A message of :data:`TOPIC` (the hub's listener)."""
        if isinstance(data, dict):
            self.forget(data.get("sids") or (), data.get("jtis") or ())

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is None:
            return
        for key in entry.keys:
            tokens = self._tokens_of.get(key)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._tokens_of[key]

    def __len__(self) -> int:
        return len(self._entries)
