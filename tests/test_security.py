"""Hostile input against a real server: the checks of the security review (issue 14),
kept so that a later change cannot reopen them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from kernel import Identity
from kernel.testing import token_plugin
from tests.notes import plugin as notes

ada = Identity(id="ada", kind="user")
bob = Identity(id="bob", kind="user")
users = token_plugin({"ada": ada, "bob": bob})
ADA = {"Authorization": "Bearer ada"}


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes, users]


# -- websockets: another user's task frames -------------------------------------------


async def test_hammering_subscribe_on_a_foreign_task_topic_receives_none_of_its_frames(
    lyo_server: str,
) -> None:
    """Ada's task reports progress many times a second while Bob subscribes to (and
    unsubscribes from) its topic as fast as the server answers: every subscribe is
    refused, and not one of the task's frames reaches him."""
    async with httpx.AsyncClient(base_url=lyo_server) as http:
        started = (
            await http.post("/api/notes/jobs", json={"slug": "busy", "seconds": 4}, headers=ADA)
        ).json()
    topic = started["topic"]
    answers: dict[str, int] = {}
    leaked: list[dict[str, Any]] = []
    async with connect(lyo_server.replace("http", "ws") + "/ws", proxy=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "bob"}))
        assert json.loads(await ws.recv())["type"] == "ready"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4
        while loop.time() < deadline:
            burst = 40
            for i in range(burst):  # pipelined: the server is always mid-subscribe
                kind = "unsubscribe" if i % 4 == 3 else "subscribe"
                await ws.send(json.dumps({"type": kind, "topic": topic}))
            await ws.send(json.dumps({"type": "ping"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "pong":
                    break
                key = frame["type"] + ":" + frame.get("code", "")
                answers[key] = answers.get(key, 0) + 1
                if frame["type"] in ("message", "subscribed"):
                    leaked.append(frame)
    assert leaked == []
    assert answers.get("error:forbidden", 0) > 100
