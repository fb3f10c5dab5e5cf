"""The ``tags`` plugin: models only, and a requirement on ``notes``."""

from __future__ import annotations

from kernel import Manifest, hookimpl


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="tags", version="1.0.0", requires={"notes": ">=1.0"})


@hookimpl
def models() -> list[str]:
    return ["tests.tags.models"]
