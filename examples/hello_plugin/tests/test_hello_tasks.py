"""The ``hello:countdown`` task: started by a route, followed over the websocket and at
``/api/tasks/{id}`` by its owner."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from conftest import auth
from websockets.asyncio.client import connect


async def test_starting_a_countdown_needs_a_signed_in_caller(lyo_client: Any) -> None:
    assert (await lyo_client.post("/api/hello/countdowns", json={})).status_code == 401
    response = await lyo_client.post(
        "/api/hello/countdowns", json={"start": 0}, headers=auth("ada-token")
    )
    assert response.status_code == 422


async def test_countdown_progress_and_result(lyo_server: str, lyo_worker: None) -> None:
    async with httpx.AsyncClient(base_url=lyo_server) as http:
        response = await http.post(
            "/api/hello/countdowns", json={"start": 3}, headers=auth("ada-token")
        )
        assert response.status_code == 202
        accepted = response.json()
        seen: list[dict[str, Any]] = []
        url = lyo_server.replace("http://", "ws://") + "/ws"
        async with connect(url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": "ada-token"}))
            await ws.send(json.dumps({"type": "subscribe", "topic": accepted["topic"]}))
            async with asyncio.timeout(30):
                while not seen or seen[-1].get("status") not in ("succeeded", "failed"):
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "subscribed":
                        seen.append(frame["snapshot"])
                    elif frame["type"] == "message":
                        seen.append(frame["data"])
        assert seen[-1]["status"] == "succeeded", seen[-1]
        status = await http.get(accepted["status_url"], headers=auth("ada-token"))
        assert status.json()["result"] == {"message": "Hello, ada! Lift-off."}
        assert status.json()["name"] == "hello:countdown"
        assert (await http.get(accepted["status_url"])).status_code in (401, 404)
        others = await http.get(accepted["status_url"], headers=auth("grace-token"))
        assert others.status_code in (403, 404)  # someone else's task
    # the task may finish before the subscription: then the snapshot tells the end
    assert {"1..."} <= {s.get("message") for s in seen} or seen[0]["status"] == "succeeded"
