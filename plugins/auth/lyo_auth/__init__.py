"""lyo-auth: the Lyo plugin for accounts, sessions, roles and profiles.

Other plugins need nothing from here to use it (``kernel.current_identity()`` and
``kernel.require`` work off the identity this plugin builds); the event classes are
exported for listeners that want payloads validated.
"""

from .events import PasswordResetRequested, UserDeactivated, UserRegistered

__all__ = ["PasswordResetRequested", "UserDeactivated", "UserRegistered"]
