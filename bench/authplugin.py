"""The ``benchauth`` plugin ``bench/auth.py`` loads beside auth
(``LYO_PLUGINS__MODULES=bench.authplugin``): one route body served two ways, so the token
check is all that differs.

- ``GET /api/benchauth/open``: the caller's identity (anonymous in the benchmark);
- ``GET /api/benchauth/guarded``: the same, under ``@require()`` (a bearer token).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from kernel import Kernel, Manifest, current_identity, hookimpl, require

bp = Blueprint("benchauth", __name__)


def _identity() -> dict[str, Any]:
    identity = current_identity()
    return {"id": identity.id, "roles": sorted(identity.roles)}


@bp.get("/open")
async def open_route() -> dict[str, Any]:
    return _identity()


@bp.get("/guarded")
@require()
async def guarded() -> dict[str, Any]:
    return _identity()


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="benchauth", version="0.1.0", kernel=">=0.1,<0.2")


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]
