"""Plugin names: what a name may look like and which names are the kernel's own."""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

#: Names a plugin may never take: they are the kernel's own URL prefixes and tables.
RESERVED_NAMES = frozenset(
    {"kernel", "tasks", "plugins", "users", "ws", "health", "metrics", "docs", "openapi", "static"}
)
