"""The privacy hooks: a user's cheers are exported and erased on request (what
``lyo users export|erase ID`` runs across plugins)."""

from __future__ import annotations

from typing import Any

from conftest import auth

from kernel.cli.privacy import erase_user, export_user


async def test_cheers_are_exported_then_erased(lyo_app: Any, lyo_client: Any) -> None:
    for user in ("ada", "ada", "bob"):
        sent = await lyo_client.post(
            "/api/hello/cheers", json={"user_id": user}, headers=auth("grace-token")
        )
        assert sent.status_code == 201
    kernel = lyo_app.kernel
    kernel.activate()

    exported = await export_user(kernel, "ada")
    assert len(exported["hello"]["cheers"]) == 2
    assert exported["hello"]["cheers"][0]["message"]
    assert "hello" not in await export_user(kernel, "nobody")

    assert "hello" in await erase_user(kernel, "ada")
    assert "hello" not in await export_user(kernel, "ada")
    assert len((await export_user(kernel, "bob"))["hello"]["cheers"]) == 1
