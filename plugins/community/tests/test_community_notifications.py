"""With the notifications plugin installed, subscriptions and mentions reach users'
inboxes through the events' ``recipient_ids``, and blocks hold there too."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from lyo_auth import plugin as auth_plugin
from lyo_community import plugin as community

notifications = pytest.importorskip("lyo_notifications.plugin")
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth_plugin, community, notifications]


async def sign_in(client: Any, key: str, name: str) -> tuple[str, dict[str, str]]:
    email = f"{key}@example.com"
    made = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    assert made.status_code == 201, await made.get_data(as_text=True)
    pair = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    token = (await pair.get_json())["access_token"]
    return (await made.get_json())["id"], {"Authorization": f"Bearer {token}"}


async def inbox(client: Any, headers: dict[str, str], want: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        response = await client.get("/api/notifications", headers=headers)
        assert response.status_code == 200, await response.get_data(as_text=True)
        items: list[dict[str, Any]] = (await response.get_json())["items"]
        if len(items) >= want or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.1)


async def test_subscribers_and_mentioned_users_hear_but_not_blockers(
    lyo_client: Any, lyo_worker: None
) -> None:
    _ada, ada = await sign_in(lyo_client, "ada", "Ada")
    bob_id, bob = await sign_in(lyo_client, "bob", "Bob")
    _carol, carol = await sign_in(lyo_client, "carol", "Carol")
    _dan, dan = await sign_in(lyo_client, "dan", "Dan")
    _eve, eve = await sign_in(lyo_client, "eve", "Eve")
    made = await lyo_client.post(
        "/api/community/discussions", json={"title": "Knots", "body": "Which?"}, headers=ada
    )
    url = f"/api/community/discussions/{(await made.get_json())['id']}"
    for who in (carol, eve):
        assert (await lyo_client.put(f"{url}/subscription", headers=who)).status_code == 200
    blocked = await lyo_client.put(f"/api/community/blocks/{bob_id}", headers=eve)
    assert blocked.status_code == 200
    reply = await lyo_client.post(
        f"{url}/replies", json={"body": "A bowline, @Dan. Ask @Eve"}, headers=bob
    )
    assert reply.status_code == 201

    # the author, a subscriber, a mentioned user (told of the mention, once)
    for who, said in ((ada, "Bob replied"), (carol, "Bob replied"), (dan, "Bob mentioned you")):
        [item] = await inbox(lyo_client, who, 1)
        assert item["category"] == "replies" and item["body"].startswith(said), item
    await asyncio.sleep(1)  # time enough for a wrong delivery to show
    assert await inbox(lyo_client, eve, 0) == []  # subscribed and mentioned, but blocked Bob
    assert await inbox(lyo_client, bob, 0) == []
