"""Live updates under a real server: replies, edits and reactions on topic
``community:discussion:{id}`` (refused for a discussion the caller may not read), and
per-user notices on ``user:{id}`` that honour blocks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from community_support import ADA, BOB, CAROL, auth
from websockets.asyncio.client import ClientConnection, connect


@asynccontextmanager
async def websocket(base_url: str, token: str) -> AsyncIterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/ws"
    async with connect(url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        yield ws


async def subscribe(ws: ClientConnection, topic: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    return await next_frame(ws, "subscribed", "error")


async def next_frame(ws: ClientConnection, *types: str, seconds: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in types:
                return frame  # type: ignore[no-any-return]


async def test_discussion_topic_and_user_notices(lyo_server: str) -> None:
    async with httpx.AsyncClient(base_url=lyo_server) as http:

        async def call(method: str, path: str, token: str, **kw: Any) -> Any:
            response = await http.request(
                method, f"/api/community{path}", headers=auth(token), **kw
            )
            assert response.status_code < 300, response.text
            return response.json() if response.content else None

        made = await call("POST", "/discussions", "ada", json={"title": "Live", "body": "x"})
        hidden = await call("POST", "/discussions", "ada", json={"title": "Hid", "body": "x"})
        await call(
            "POST", f"/discussions/{hidden['id']}/moderation", "mod", json={"action": "hide"}
        )
        await call("PUT", f"/discussions/{made['id']}/subscription", "carol")
        await call("PUT", f"/blocks/{BOB.id}", "carol")  # carol hears nothing bob does
        topic = f"community:discussion:{made['id']}"
        async with (
            websocket(lyo_server, "bob") as bob_ws,
            websocket(lyo_server, "ada") as ada_ws,
            websocket(lyo_server, "carol") as carol_ws,
        ):
            assert (await subscribe(bob_ws, topic))["type"] == "subscribed"
            refused = await subscribe(bob_ws, f"community:discussion:{hidden['id']}")
            assert refused["type"] == "error"
            assert (await subscribe(ada_ws, f"user:{ADA.id}"))["type"] == "subscribed"
            assert (await subscribe(carol_ws, f"user:{CAROL.id}"))["type"] == "subscribed"
            reply = await call(
                "POST", f"/discussions/{made['id']}/replies", "bob", json={"body": "hello"}
            )
            live = await next_frame(bob_ws, "message")
            assert live["topic"] == topic
            assert live["data"]["type"] == "reply_created"
            assert live["data"]["reply"]["id"] == reply["id"]
            notice = await next_frame(ada_ws, "message")
            assert notice["data"]["kind"] == "community.reply"
            assert notice["data"]["reply_id"] == reply["id"]
            await call("PUT", f"/replies/{reply['id']}/reactions/like", "ada")
            live = await next_frame(bob_ws, "message")
            assert live["data"]["type"] == "reaction_added"
            assert live["data"]["counts"] == {"like": 1}
            # carol subscribed but blocked bob: a reply from ada reaches her, bob's did not
            await call("POST", f"/discussions/{made['id']}/replies", "ada", json={"body": "hi"})
            notice = await next_frame(carol_ws, "message")
            assert notice["data"]["kind"] == "community.reply"
            assert notice["data"]["reply_id"] != reply["id"]
