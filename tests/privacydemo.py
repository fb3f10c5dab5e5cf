"""A plugin module storing "personal data" in a file, for `lyo users export|erase` tests
(loaded with LYO_PLUGINS__MODULES). ``PRIVACYDEMO_FILE`` names the file: one user id a
line. Erasing user ``fail`` raises."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kernel import Manifest, hookimpl


def _file() -> Path:
    return Path(os.environ["PRIVACYDEMO_FILE"])


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="privacydemo", version="0.1.0")


@hookimpl
def export_user(user_id: str) -> dict[str, Any] | None:
    lines = _file().read_text().split()
    return {"mentions": lines.count(user_id)} if user_id in lines else None


@hookimpl
def erase_user(user_id: str) -> None:
    if user_id == "fail":
        raise RuntimeError("cannot erase today")
    # a file is outside the database: a real plugin would defer this with after_commit
    _file().write_text(
        "".join(f"{line}\n" for line in _file().read_text().split() if line != user_id)
    )
