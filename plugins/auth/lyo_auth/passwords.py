"""Password hashing (argon2id) and the password policy.

Hashing and verifying run in a thread: argon2 is deliberately slow and would stall the
event loop. Verifying for an unknown account checks the password against a dummy hash
with the same parameters, so an unknown email costs the same time as a wrong password.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel import ValidationFailed

T = TypeVar("T")


class Passwords:
    """An argon2id hasher with fixed parameters (OWASP: m=19 MiB, t=2, p=1 by default)."""

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        # Same parameters as real hashes, so verifying against it takes as long.
        self.dummy = self.hasher.hash(secrets.token_urlsafe(24))
        # One thread per usable CPU: the default pool (sized from all CPUs, plus four)
        # lets several argon2 runs share one CPU, each then slower (bench/README-auth.md)
        self.pool = ThreadPoolExecutor(len(os.sched_getaffinity(0)), "argon2")

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, password)

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Whether ``password`` matches ``hashed``; ``None`` (no such account) checks a
        dummy hash and answers ``False`` after the same work."""
        return await self._run(self._verify, hashed, password)

    def _verify(self, hashed: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(hashed or self.dummy, password) and hashed is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` was made with other parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("lyo_auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_policy(
    password: str, *, email: str, min_length: int, max_length: int, field: str = "password"
) -> None:
    """Raise a 422 naming ``field`` unless ``password`` is acceptable: at least
    ``min_length`` characters, not the email (or its local part), not a common one."""
    problems = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters long")
    if len(password) > max_length:
        problems.append(f"must be at most {max_length} characters long")
    folded = password.strip().casefold()
    local = email.split("@", 1)[0].casefold()
    if folded in (email.casefold(), local):
        problems.append("must not be your email address")
    if folded in common_passwords():
        problems.append("is too common; choose another")
    if problems:
        message = "The password " + "; ".join(problems) + "."
        raise ValidationFailed([{"pointer": f"/{field}", "detail": message}], message)
