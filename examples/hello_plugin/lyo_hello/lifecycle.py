"""How often this process started and stopped the plugin (``GET /api/hello/`` shows the
starts): what the ``startup`` and ``shutdown`` hooks do here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counts:
    starts: int = 0
    stops: int = 0


counts = Counts()


async def started() -> None:
    counts.starts += 1


async def stopped() -> None:
    counts.stops += 1
