"""What other plugins may call: cheer a user (recorded, and pushed to ``hello:{id}`` once
the caller's transaction commits)::

    from lyo_hello import api as hello
    await hello.cheer(user_id, "Welcome aboard!")
"""

from __future__ import annotations

from . import cheers
from .schemas import CheerOut

__all__ = ["CheerOut", "cheer", "topic"]

topic = cheers.topic


async def cheer(user_id: str, message: str) -> CheerOut:
    """Record a cheer for ``user_id``; inside a transaction its message waits for the commit."""
    return await cheers.record(user_id, message)
