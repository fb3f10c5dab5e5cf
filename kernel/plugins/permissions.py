"""Permissions plugins declare (the ``permissions`` hook), checked and collected."""

from __future__ import annotations

from typing import Any

from kernel.errors import PluginError
from kernel.identity import Permission


def collect_permissions(
    plugin: str,
    declared: dict[str, Any],
    permissions: dict[str, str],
    defaults: dict[str, tuple[str, ...]],
) -> None:
    """Add what plugin ``plugin`` declares to ``permissions`` (name -> description) and
    ``defaults`` (name -> default roles); a name outside ``<plugin>:`` or a value that is
    neither a description nor a :class:`kernel.Permission` is a :class:`PluginError`."""
    for name, value in declared.items():
        if not name.startswith(plugin + ":"):
            raise PluginError(
                f"plugin {plugin!r} declares permission {name!r}; "
                f"permission names must start with '{plugin}:'"
            )
        if isinstance(value, str):
            value = Permission(value)
        elif not isinstance(value, Permission):
            raise PluginError(
                f"plugin {plugin!r} declares permission {name!r} as "
                f"{type(value).__name__}; expected a description (str) or "
                "kernel.Permission(description, default_roles=(...))"
            )
        permissions[name] = value.description
        if value.default_roles:
            defaults[name] = value.default_roles
