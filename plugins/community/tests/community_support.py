"""Helpers for the community plugin's tests: identities and tokens, an event recorder.
(A uniquely named module, so several plugins' test folders can run in one session.)"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from kernel import Envelope, Identity, on
from kernel.testing import make_plugin, token_plugin

LEARNER_PERMS = ("community:post", "community:react", "community:report")


def person(*permissions: str, role: str = "learner") -> Identity:
    return Identity(
        id=str(uuid4()), roles=frozenset({role}), permissions=frozenset(permissions), kind="user"
    )


ADA = person(*LEARNER_PERMS)
BOB = person(*LEARNER_PERMS)
CAROL = person(*LEARNER_PERMS)
MOD = person("community:moderate", *LEARNER_PERMS, role="moderator")
ADMIN = person("*", role="admin")
#: 100 distinct learners, for the concurrency tests.
CROWD = [person(*LEARNER_PERMS) for _ in range(100)]
TOKENS: dict[str, Identity] = {"ada": ADA, "bob": BOB, "carol": CAROL, "mod": MOD, "admin": ADMIN}
TOKENS.update({f"crowd-{n}": who for n, who in enumerate(CROWD)})


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


EVENT_TYPES = (
    "community.discussion_created.v1",
    "community.reply_created.v1",
    "community.reaction_added.v1",
    "community.reaction_removed.v1",
    "community.content_reported.v1",
    "community.content_moderated.v1",
)
PUBLISHED: list[Envelope] = []


async def _record(envelope: Envelope) -> None:
    PUBLISHED.append(envelope)


event_recorder = make_plugin(
    "recorder",
    event_handlers=lambda: [on(t, id=f"recorder:{t}", durable=False)(_record) for t in EVENT_TYPES],
)


def published(type_: str) -> list[dict[str, Any]]:
    return [e.payload for e in PUBLISHED if e.type == type_]


def tokens_plugin() -> Any:
    return token_plugin(TOKENS, name="tokens")
