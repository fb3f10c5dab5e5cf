"""``lyo feeds ...`` commands: none yet (the hook is here so every plugin has the same
shape)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
