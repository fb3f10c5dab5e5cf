"""Plugin names: what a name may look like and which names are the kernel's own."""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

#: Names a plugin may never take: they are the kernel's own URL prefixes and tables.
RESERVED_NAMES = frozenset(
    {"kernel", "tasks", "plugins", "users", "ws", "health", "metrics", "docs", "openapi", "static"}
)


def name_problem(name: str, *, reserved: bool = True) -> str | None:
    """Why ``name`` cannot name a plugin, or ``None`` when it can: the one check behind
    plugin loading, ``lyo new-plugin`` and :meth:`kernel.Cache.for_plugin`
    (``reserved=False``: the kernel's own names pass, as the kernel's cache view does)."""
    if not NAME_PATTERN.fullmatch(name):
        return (
            f"{name!r} is not a plugin name: use lowercase letters, digits and '_', "
            "starting with a letter (it is also the URL prefix, table prefix and "
            "settings namespace)"
        )
    if reserved and name in RESERVED_NAMES:
        return f"{name!r} is reserved by the kernel (reserved: {', '.join(sorted(RESERVED_NAMES))})"
    return None
