"""Stand-in plugins for tests: a plugin from plain functions, fixed bearer tokens, and
a recorder of delivered events."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from kernel.events import Envelope, Event, on
from kernel.identity import Credentials, Identity
from kernel.plugins.hookspecs import hookimpl
from kernel.plugins.manifest import Manifest


def make_plugin(name: str, version: str = "0.1.0", **hooks: Any) -> SimpleNamespace:
    """A plugin object named ``name`` whose hooks are the given functions.

    ``make_plugin("demo", startup=fn)`` marks ``fn`` as a hook implementation; a
    ``manifest`` is made from ``name``/``version`` unless one is given (a function
    or a :class:`Manifest`).
    """
    given = hooks.pop("manifest", None)
    if isinstance(given, Manifest):
        manifest_value = given
        hooks["manifest"] = lambda: manifest_value
    elif given is None:
        hooks["manifest"] = lambda: Manifest(name=name, version=version)
    else:
        hooks["manifest"] = given
    return SimpleNamespace(**{hook: hookimpl(fn) for hook, fn in hooks.items()})


def token_plugin(tokens: Mapping[str, Identity], name: str = "tokens") -> SimpleNamespace:
    """A plugin that authenticates fixed bearer tokens, for tests without an auth plugin.

    Unknown tokens are answered ``None`` (not this plugin's to judge).
    """

    def authenticate(credentials: Credentials) -> Identity | None:
        return tokens.get(credentials.token or "")

    return make_plugin(name, authenticate=authenticate)


class Recorder(SimpleNamespace):
    """A plugin that records the events it is delivered, in order (see :func:`recorder`)."""

    events: list[Envelope]

    def of(self, type_: str) -> list[Envelope]:
        """The recorded events of ``type_``."""
        return [envelope for envelope in self.events if envelope.type == type_]

    def payloads(self, type_: str) -> list[dict[str, Any]]:
        return [envelope.payload for envelope in self.of(type_)]

    def hold(self, type_: str) -> asyncio.Event:
        """Events of ``type_`` wait (in their handler) until the returned event is set."""
        gate = asyncio.Event()
        self.gates.setdefault(type_, []).append(gate)
        return gate

    def clear(self) -> None:
        self.events.clear()
        self.gates.clear()


def recorder(
    *types: str | type[Event], name: str = "recorder", durable: bool = False, retries: int = 0
) -> Recorder:
    """A plugin recording every event of ``types`` it receives: in-process after commit
    (``durable=False``), or through the outbox, the relay and a task (``durable=True``;
    needs a worker with Redis)::

        events = kernel.testing.recorder("learning.enrolled.v1")
        # lyo_plugins: [..., events]; then events.of("learning.enrolled.v1")
    """
    made = Recorder(events=[], gates={})

    async def record(envelope: Envelope) -> None:
        for gate in made.gates.get(envelope.type, ()):
            await gate.wait()
        made.events.append(envelope)

    handlers = [
        on(t, id=f"{name}:{t if isinstance(t, str) else t.type}", durable=durable, retries=retries)(
            record
        )
        for t in types
    ]
    made.manifest = hookimpl(lambda: Manifest(name=name, version="0.1.0"))
    made.event_handlers = hookimpl(lambda: handlers)
    return made
