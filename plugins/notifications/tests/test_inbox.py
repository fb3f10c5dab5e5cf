"""Events become inbox items (once each, never for their actor, never for deactivated
users), pushed live on ``user:{id}``; the inbox lists with a cursor, counts unread,
marks read and deletes, each user seeing only their own."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from uuid import UUID, uuid4

import httpx
from conftest import sign_in
from lyo_notifications.api import notify
from lyo_notifications.models import Notification
from websockets.asyncio.client import connect

import kernel
from kernel import Event


class ReplyCreated(Event):
    """What the community plugin publishes (by type string; its module is not needed)."""

    type = "community.reply_created.v1"
    reply_id: UUID
    discussion_id: UUID
    author_id: str
    target_author_id: str
    discussion_author_id: str
    excerpt: str | None = None


async def _reply(running: Any, author: str, to: str, excerpt: str = "Nice knot") -> None:
    running.activate()
    async with kernel.transaction():
        await kernel.publish(
            ReplyCreated(
                discussion_id=uuid4(),
                reply_id=uuid4(),
                author_id=author,
                target_author_id=to,
                discussion_author_id=author,
                excerpt=excerpt,
            )
        )


async def _inbox(client: Any, headers: dict[str, str], want: int, **query: Any) -> Any:
    deadline = time.monotonic() + 30
    while True:
        response = await client.get("/api/notifications", headers=headers, query_string=query)
        assert response.status_code == 200, await response.get_data()
        body = await response.get_json()
        if len(body["items"]) >= want or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_a_reply_event_becomes_one_inbox_item_for_the_parent_author(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, ada_headers = await sign_in(lyo_client, "ada@example.com", "Ada")
    bob, bob_headers = await sign_in(lyo_client, "bob@example.com", "Bob")
    await _reply(lyo_app.kernel, author=bob, to=ada, excerpt="Try a bowline")
    body = await _inbox(lyo_client, ada_headers, 1)
    [item] = body["items"]
    assert item["title"] == "New reply" and item["body"] == "Bob replied: Try a bowline"
    assert item["category"] == "replies" and item["read_at"] is None
    assert item["data"]["event"] == "community.reply_created.v1"
    assert body["unread"] == 1
    # the author (also the discussion's author here) hears nothing of their own reply
    assert (await _inbox(lyo_client, bob_headers, 0))["items"] == []


async def test_the_same_key_notifies_once(lyo_client: Any, lyo_app: Any) -> None:
    ada, _headers = await sign_in(lyo_client, "ada@example.com")
    lyo_app.kernel.activate()
    for _ in range(3):  # as a redelivered event would
        async with kernel.transaction():
            await notify(
                [ada],
                category="reminders",
                kind="message",
                key="streak:1",
                context={"title": "Keep going", "body": "One lesson today?"},
            )
    assert await Notification.filter(user_id=ada).count() == 1


async def test_cursor_pages_read_marks_and_delete(lyo_client: Any, lyo_app: Any) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    _bob, bob_headers = await sign_in(lyo_client, "bob@example.com", "Bob")
    lyo_app.kernel.activate()
    async with kernel.transaction():
        for number in range(5):
            await notify(
                [ada],
                category="reminders",
                kind="message",
                key=f"k{number}",
                context={"title": f"T{number}", "body": "b"},
            )
    first = await (await lyo_client.get("/api/notifications?size=2", headers=headers)).get_json()
    assert [i["title"] for i in first["items"]] == ["T4", "T3"] and first["unread"] == 5
    second = await (
        await lyo_client.get(
            f"/api/notifications?size=2&cursor={first['next_cursor']}", headers=headers
        )
    ).get_json()
    assert [i["title"] for i in second["items"]] == ["T2", "T1"]
    target = first["items"][0]["id"]
    # bob may neither read nor delete ada's
    assert (
        await lyo_client.post(f"/api/notifications/{target}/read", headers=bob_headers)
    ).status_code == 404
    assert (
        await lyo_client.delete(f"/api/notifications/{target}", headers=bob_headers)
    ).status_code == 404
    marked = await lyo_client.post(f"/api/notifications/{target}/read", headers=headers)
    assert (await marked.get_json()) == {"marked": 1}
    unread = await (await lyo_client.get("/api/notifications/unread", headers=headers)).get_json()
    assert unread == {"unread": 4}
    only = await (
        await lyo_client.get("/api/notifications?unread_only=true", headers=headers)
    ).get_json()
    assert target not in [i["id"] for i in only["items"]]
    assert (
        await (await lyo_client.post("/api/notifications/read-all", headers=headers)).get_json()
    ) == {"marked": 4}
    assert (
        await lyo_client.delete(f"/api/notifications/{target}", headers=headers)
    ).status_code == 204
    assert (
        await lyo_client.delete(f"/api/notifications/{target}", headers=headers)
    ).status_code == 404
    assert (
        await lyo_client.get("/api/notifications?cursor=nonsense", headers=headers)
    ).status_code == 422
    assert (await lyo_client.get("/api/notifications")).status_code == 401
    assert (
        await lyo_client.post("/api/notifications/not-a-uuid/read", headers=headers)
    ).status_code == 404


async def test_deactivated_users_get_nothing_and_lose_their_inbox(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")
    await _reply(lyo_app.kernel, author=bob, to=ada)
    await _inbox(lyo_client, headers, 1)
    from lyo_auth import accounts  # what `lyo users deactivate` and the admin route do

    lyo_app.kernel.activate()
    await accounts.deactivate(UUID(ada), by=None)
    for _ in range(300):
        if not await Notification.filter(user_id=ada).exists():
            break
        await asyncio.sleep(0.1)
    assert not await Notification.filter(user_id=ada).exists()
    lyo_app.kernel.activate()
    async with kernel.transaction():
        assert await notify([ada], category="reminders", kind="message", key="x") == 0


async def test_new_items_are_pushed_on_the_users_topic(lyo_server: str, lyo_worker: None) -> None:
    async with httpx.AsyncClient(base_url=lyo_server) as http:
        ada, headers = await sign_in(_Sync(http), "ada@example.com")
        bob, _ = await sign_in(_Sync(http), "bob@example.com", "Bob")
        token = headers["Authorization"].split()[1]
        url = lyo_server.replace("http://", "ws://") + "/ws"
        async with connect(url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "subscribe", "topic": f"user:{ada}"}))
            async with asyncio.timeout(30):
                while json.loads(await ws.recv())["type"] != "subscribed":
                    pass
            await _reply(kernel.current(), author=bob, to=ada, excerpt="Hello")
            async with asyncio.timeout(30):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "message":
                        break
        assert frame["topic"] == f"user:{ada}"
        assert frame["data"]["kind"] == "notifications.new"
        assert frame["data"]["notification"]["body"] == "Bob replied: Hello"


class _Sync:
    """httpx's client with the test client's ``get_json``/``get_data`` (for sign_in)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, url: str, json: Any) -> Any:
        response = await self.http.post(url, json=json)

        async def get_json() -> Any:
            return response.json()

        async def get_data() -> bytes:
            return response.content

        response.get_json = get_json  # type: ignore[attr-defined]
        response.get_data = get_data  # type: ignore[attr-defined]
        return response
