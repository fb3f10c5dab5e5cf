"""Helpers for the ai plugin's tests: identities, a deterministic fake generator, a
recorder of events, a task waiter. (A uniquely named module, not conftest imports, so
several plugins' test folders can run in one pytest session.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

from lyo_ai.generation import Cancelled, Completion, OnText

from kernel import Identity
from kernel.testing import recorder, token_plugin


def person(*permissions: str) -> Identity:
    return Identity(id=str(uuid4()), permissions=frozenset(permissions), kind="user")


AUTHOR = person("ai:generate", "learning:write")
OTHER = person("ai:generate", "learning:write")
LEARNER = person("learning:enroll")
TOKENS = {"author": AUTHOR, "other": OTHER, "learner": LEARNER}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def auth_standin() -> Any:
    return token_plugin(TOKENS, name="auth")


#: ``ai.course_generated.v1`` events, recorded in-process once committed.
RECORDER = recorder("ai.course_generated.v1")
PUBLISHED = RECORDER.events


class FakeGenerator:
    """Writes numbered words, token by token, optionally slowly; never course text.

    ``repeat`` makes every greedy value the same, so the composer must retry with
    sampling (a seeded try gets a distinct value); ``empty`` makes every value empty."""

    prompt_style = "completion"
    name = "fake"

    def __init__(self, delay: float = 0.0, repeat: bool = False, empty: bool = False) -> None:
        self.delay = delay
        self.repeat = repeat
        self.empty = empty
        self.calls: list[dict[str, Any]] = []

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str],
        max_new_tokens: int,
        on_text: OnText,
        should_stop: Callable[[], bool],
        seed: int | None = None,
    ) -> Completion:
        self.calls.append({"prompt": prompt, "stop": tuple(stop), "seed": seed})
        n = len(self.calls)
        words = [] if self.empty else ["word", "same" if self.repeat and seed is None else str(n)]
        if seed is not None and not self.empty:
            words.append(f"s{seed}")
        text = ""
        for count, word in enumerate([*words, stop[0] + "overshoot"][:max_new_tokens], 1):
            if should_stop():
                raise Cancelled()
            if self.delay:
                time.sleep(self.delay)
            text = (text + " " + word).strip()
            on_text(text.split(stop[0], 1)[0], count)
        return Completion(text=" ".join(words), tokens=len(words) + 1)


async def wait_for_task(
    client: Any,
    task_id: str,
    token: str = "author",
    seconds: float = 20.0,
    until: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Poll ``GET /api/tasks/{id}`` until it is finished (or ``until`` holds)."""
    until = until or (lambda run: run["status"] in ("succeeded", "failed", "cancelled"))
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(f"/api/tasks/{task_id}", headers=auth(token))
        run = await response.get_json()
        if until(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"task still {run['status']}: {run}")
        await asyncio.sleep(0.05)
