"""The model, the permission, the websocket topic and the event handler: cheers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from conftest import auth
from lyo_hello import plugin as hello
from websockets.asyncio.client import ClientConnection, connect

from kernel import Event, Settings, create_app, publish
from kernel.testing import serve


class LessonCompleted(Event):
    """A stand-in for the learning plugin's event: only the type string and the payload
    matter, so neither this plugin nor its tests need lyo-learning installed."""

    type = "learning.lesson_completed.v1"
    user_id: str
    lesson_id: UUID
    course_id: UUID
    seconds_spent: int
    completed_at: datetime


def lesson_completed(user_id: str) -> LessonCompleted:
    return LessonCompleted(
        user_id=user_id,
        lesson_id=uuid4(),
        course_id=uuid4(),
        seconds_spent=42,
        completed_at=datetime.now(UTC),
    )


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


async def test_cheering_needs_the_permission(lyo_client: Any) -> None:
    body = {"user_id": "ada", "message": "Nice work!"}
    assert (await lyo_client.post("/api/hello/cheers", json=body)).status_code == 401
    refused = await lyo_client.post("/api/hello/cheers", json=body, headers=auth("ada-token"))
    assert refused.status_code == 403
    assert (await refused.get_json())["permission"] == "hello:cheer"
    done = await lyo_client.post("/api/hello/cheers", json=body, headers=auth("grace-token"))
    assert done.status_code == 201
    assert (await done.get_json())["message"] == "Nice work!"


async def test_each_user_lists_their_own_cheers(lyo_client: Any) -> None:
    for user in ("ada", "ada", "grace"):
        response = await lyo_client.post(
            "/api/hello/cheers", json={"user_id": user}, headers=auth("grace-token")
        )
        assert response.status_code == 201
    assert (await lyo_client.get("/api/hello/cheers")).status_code == 401
    page = await (await lyo_client.get("/api/hello/cheers", headers=auth("ada-token"))).get_json()
    assert page["total"] == 2 and page["pages"] == 1
    assert {c["user_id"] for c in page["items"]} == {"ada"}
    assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first


async def test_cheer_text_comes_from_the_settings(
    lyo_settings: Settings, lyo_plugins: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LYO_HELLO__CHEER", "Bravo")
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with app.test_app():
        response = await app.test_client().post(
            "/api/hello/cheers", json={"user_id": "ada"}, headers=auth("grace-token")
        )
    assert (await response.get_json())["message"] == "Bravo, ada!"


async def test_a_users_topic_is_theirs_alone(lyo_server: str) -> None:
    async with websocket(lyo_server, "ada-token") as ws:
        assert (await subscribe(ws, "hello:ada"))["type"] == "subscribed"
        refused = await subscribe(ws, "hello:grace")
        assert refused["type"] == "error" and refused["code"] == "forbidden"
        async with httpx.AsyncClient(base_url=lyo_server) as http:
            response = await http.post(
                "/api/hello/cheers", json={"user_id": "ada"}, headers=auth("grace-token")
            )
            assert response.status_code == 201
        message = await next_frame(ws, "message")
    assert message["topic"] == "hello:ada"
    assert message["data"]["cheer"]["message"] == "Well done, ada!"


async def test_a_completed_lesson_is_cheered_live(
    lyo_settings: Settings, lyo_plugins: list[object], lyo_worker: None
) -> None:
    """The learning plugin's event, published here, reaches the durable handler (in
    this process, or in the worker with Redis), which records a cheer and pushes it
    to the learner's topic."""
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with serve(app) as url, websocket(url, "ada-token") as ws:
        assert (await subscribe(ws, "hello:ada"))["type"] == "subscribed"
        app.kernel.activate()
        event = lesson_completed("ada")
        await publish(event)
        message = await next_frame(ws, "message")
        assert message["data"]["cheer"]["message"] == "Well done, ada! Lesson complete."
        assert message["data"]["cheer"]["lesson_id"] == str(event.lesson_id)
        async with httpx.AsyncClient(base_url=url) as http:
            page = (await http.get("/api/hello/cheers", headers=auth("ada-token"))).json()
    assert [c["lesson_id"] for c in page["items"]] == [str(event.lesson_id)]


def test_the_handler_subscribes_by_type_string() -> None:
    (handler,) = hello.event_handlers()
    assert (handler.id, handler.type, handler.model) == (
        "hello:cheer_lesson",
        "learning.lesson_completed.v1",
        None,  # no dependency on the publisher's event class
    )
    assert handler.durable
