"""Progress over a real websocket client against a real server (Hypercorn), with the
fake generator: the client requests a course, follows ``task:{id}`` until it is done,
then fetches the course through the learning API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from ai_support import FakeGenerator, auth
from websockets.asyncio.client import connect


async def test_progress_reaches_a_websocket_client_until_done(
    lyo_server: str, fake: FakeGenerator
) -> None:
    fake.delay = 0.01
    async with httpx.AsyncClient(base_url=lyo_server) as http:
        body = {"topic": "Tide pools", "level": "beginner", "lesson_count": 3}
        response = await http.post("/api/ai/courses", json=body, headers=auth("author"))
        assert response.status_code == 202
        accepted = response.json()
        ws_url = lyo_server.replace("http://", "ws://") + "/ws"
        messages: list[dict[str, Any]] = []
        async with connect(ws_url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": "author"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "subscribe", "topic": accepted["topic"]}))
            async with asyncio.timeout(20):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "subscribed":
                        data = message["snapshot"]
                    elif message["type"] == "message":
                        data = message["data"]
                    else:
                        continue
                    messages.append(data)
                    if data.get("status") in ("succeeded", "failed", "cancelled"):
                        break
        final = messages[-1]
        assert final["status"] == "succeeded", final
        phases = {(m.get("progress") or {}).get("phase") for m in messages}
        assert {"outline", "lessons"} <= phases or final is messages[0]
        course_id = final["result"]["course_id"]
        course = (
            await http.get(f"/api/learning/courses/{course_id}", headers=auth("author"))
        ).json()
        assert len(course["lessons"]) == 3
