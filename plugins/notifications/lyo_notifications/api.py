"""What other plugins may call. Subscribing is not needed for the common cases: the
events listed in the README become notifications by themselves. For anything else::

    from lyo_notifications.api import notify

    await notify([user_id], category="reminders", kind="message", key=f"streak:{day}",
                 context={"title": "Keep your streak", "body": "One lesson today?"})

Call it inside your transaction: the inbox item, the pushes and the mails happen if and
only if it commits, once per (user, ``key``, channel).
"""

from __future__ import annotations

from .delivery import notify
from .settings import CATEGORIES, CHANNELS

__all__ = ["CATEGORIES", "CHANNELS", "notify"]
