"""A plugin module whose route lies outside its URL prefix: ``Kernel.load`` accepts it,
building the app refuses it. Loaded with LYO_PLUGINS__MODULES in tests."""

from __future__ import annotations

from quart import Blueprint

from kernel import Kernel, Manifest, hookimpl

bp = Blueprint("badroute", __name__, url_prefix="/elsewhere")


@bp.get("/x")
async def x() -> dict[str, str]:
    return {}


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="badroute", version="0.1.0")


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]
