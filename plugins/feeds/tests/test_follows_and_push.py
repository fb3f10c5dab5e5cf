"""Follows (idempotent, never of oneself, listed with a cursor, counted) and the live
push of new activity on ``user:{id}`` with kind ``feeds.activity``, through a real
server (and, with Redis, a real worker and Redis pub/sub)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
from conftest import auth, enrolled, publish
from websockets.asyncio.client import ClientConnection, connect

from kernel import Settings, create_app
from kernel.testing import serve


async def test_follow_and_unfollow(lyo_client: Any) -> None:
    post = lyo_client.post
    body = {"kind": "user", "id": "bob"}
    assert (await post("/api/feeds/follows", json=body)).status_code == 401
    first = await post("/api/feeds/follows", json=body, headers=auth("ada"))
    assert first.status_code == 201
    again = await post("/api/feeds/follows", json=body, headers=auth("ada"))
    assert again.status_code == 200
    course = await post(
        "/api/feeds/follows", json={"kind": "course", "id": "c-1"}, headers=auth("ada")
    )
    assert course.status_code == 201
    listed = await (await lyo_client.get("/api/feeds/follows", headers=auth("ada"))).get_json()
    assert [(f["kind"], f["id"]) for f in listed["items"]] == [("course", "c-1"), ("user", "bob")]
    only = await lyo_client.get(
        "/api/feeds/follows", query_string={"kind": "user"}, headers=auth("ada")
    )
    assert [f["id"] for f in (await only.get_json())["items"]] == ["bob"]
    counts = await (
        await lyo_client.get("/api/feeds/users/bob/counts", headers=auth("cy"))
    ).get_json()
    assert counts == {"followers": 1, "following": 0}
    gone = await lyo_client.delete("/api/feeds/follows/user/bob", headers=auth("ada"))
    assert gone.status_code == 204
    missing = await lyo_client.delete("/api/feeds/follows/user/bob", headers=auth("ada"))
    assert missing.status_code == 404
    assert (
        await lyo_client.delete("/api/feeds/follows/pet/x", headers=auth("ada"))
    ).status_code == 404


async def test_bad_follows_are_422_naming_the_field(lyo_client: Any) -> None:
    for body, pointer in [
        ({"kind": "user", "id": "ada"}, "/id"),  # oneself
        ({"kind": "pet", "id": "bob"}, "/kind"),
        ({"kind": "user", "id": ""}, "/id"),
        ({"kind": "user", "id": "x" * 65}, "/id"),
    ]:
        response = await lyo_client.post("/api/feeds/follows", json=body, headers=auth("ada"))
        assert response.status_code == 422, body
        problem = await response.get_json()
        assert pointer in [e["pointer"] for e in problem["errors"]], problem


async def test_bad_cursors_and_sizes_are_422(lyo_client: Any) -> None:
    for query in ({"cursor": "nope"}, {"size": 0}, {"size": 101}):
        response = await lyo_client.get("/api/feeds/me", query_string=query, headers=auth("ada"))
        assert response.status_code == 422, query


@asynccontextmanager
async def websocket(base_url: str, user: str) -> AsyncIterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/ws"
    async with connect(url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "auth", "token": f"{user}-token"}))
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"type": "subscribe", "topic": f"user:{user}"}))
        assert (await next_frame(ws, "subscribed"))["topic"] == f"user:{user}"
        yield ws


async def next_frame(ws: ClientConnection, *types: str, seconds: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in types:
                return frame  # type: ignore[no-any-return]


async def test_new_activity_is_pushed_to_followers(
    lyo_settings: Settings, lyo_plugins: list[object], lyo_worker: None
) -> None:
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with serve(app) as url, websocket(url, "ada") as ada:
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post(
                "/api/feeds/follows", json={"kind": "user", "id": "bob"}, headers=auth("ada")
            )
            assert response.status_code == 201
        course = uuid4()
        await publish(app, enrolled("bob", course))
        message = await next_frame(ada, "message")
    assert message["topic"] == "user:ada"
    data = message["data"]
    assert data["kind"] == "feeds.activity"
    assert data["activity"]["actor_id"] == "bob" and data["activity"]["verb"] == "enrolled"
    assert data["activity"]["object"] == {"type": "course", "id": str(course)}
