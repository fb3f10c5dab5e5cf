"""Helpers shared by the auth tests: sign-up and sign-in shortcuts, a plugin whose route
and websocket topics need ``guarded:write`` (instructors get it by default; learners get
``guarded:read``), and the events recorded in-process."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint

from kernel import Envelope, Identity, Permission, current_identity, require
from kernel.testing import make_plugin, recorder

PASSWORD = "correct-horse-battery-staple"
#: The events auth published, recorded in-process once their transaction commits.
RECORDER = recorder(
    "auth.user_registered.v1", "auth.user_deactivated.v1", "auth.password_reset_requested.v1"
)

guarded_bp = Blueprint("guarded", __name__)


@guarded_bp.get("/write")
@require("guarded:write")
async def write() -> dict[str, Any]:
    identity = current_identity()
    return {"id": identity.id, "roles": sorted(identity.roles)}


def _authorize_topic(identity: Identity, topic: str) -> bool | None:
    if topic.startswith("guarded:"):
        return identity.has("guarded:write")
    return None


guarded_plugin = make_plugin(
    "guarded",
    blueprints=lambda kernel: [guarded_bp],
    authorize_topic=_authorize_topic,
    permissions=lambda: {
        "guarded:write": Permission("Write.", default_roles=("instructor",)),
        "guarded:read": Permission("Read.", default_roles=["learner"]),
        "guarded:audit": "Audit (nobody by default).",
    },
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: Any, email: str, password: str = PASSWORD, name: str = "Ada"
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": password, "display_name": name}
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


async def login(client: Any, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


async def signed_up(client: Any, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Register and sign in; the token pair."""
    await register(client, email, password)
    return await login(client, email, password)


async def make_admin(app: Any, email: str) -> None:
    """Grant the admin role directly (what ``lyo auth create-admin`` does)."""
    from lyo_auth import accounts
    from lyo_auth.models import User

    app.kernel.activate()
    user = await User.get(email=email)
    await accounts.grant_role(user.id, "admin")


def events(type_: str) -> list[Envelope]:
    return RECORDER.of(type_)


def problem_without_ids(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


async def settled(client: Any) -> None:
    """Wait for the app's background work (what routes do after answering)."""
    while tasks := list(client.app.background_tasks):
        await asyncio.gather(*tasks)


async def forgot(client: Any, email: str, **kwargs: Any) -> Any:
    """Ask for a password reset and wait for the work done after the 202."""
    response = await client.post("/api/auth/password/forgot", json={"email": email}, **kwargs)
    assert response.status_code == 202, await response.get_data(as_text=True)
    await settled(client)
    return response
