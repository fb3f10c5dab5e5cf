"""Real time under a real server: awards and unlocks reach the user's topic, board
changes reach ``gamification:leaderboard:{window}:{scope}`` (throttled, the last change
never lost), from the worker that ran the handler."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gam_support import ADA, course_done, lesson_done
from websockets.asyncio.client import ClientConnection, connect

from kernel import Settings, create_app, publish
from kernel.testing import serve


@asynccontextmanager
async def websocket(base_url: str, token: str) -> AsyncIterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/ws"
    async with connect(url, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        yield ws


async def subscribe(ws: ClientConnection, topic: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in ("subscribed", "error"):
                return frame  # type: ignore[no-any-return]


async def messages(ws: ClientConnection, seconds: float = 60) -> AsyncIterator[dict[str, Any]]:
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "message":
                yield frame


async def test_awards_unlocks_and_boards_live(
    lyo_settings: Settings, lyo_plugins: list[object], lyo_worker: None
) -> None:
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    board = "gamification:leaderboard:all:global"
    async with serve(app) as url, websocket(url, "ada") as ws:
        assert (await subscribe(ws, f"user:{ADA}"))["type"] == "subscribed"
        assert (await subscribe(ws, board))["type"] == "subscribed"
        refused = await subscribe(ws, "gamification:secrets")
        assert refused["type"] == "error"
        app.kernel.activate()
        course = uuid.uuid4()
        await publish(course_done(ADA, course))
        for _ in range(3):
            await publish(lesson_done(ADA, course))
        kinds: set[str] = set()
        last_board: list[dict[str, Any]] = []
        async for frame in messages(ws):
            if frame["topic"] == board:
                last_board = frame["data"]["top"]
            else:
                kinds.add(frame["data"]["kind"])
            if last_board and last_board[0]["points"] == 80 and "gamification.unlocked" in kinds:
                break
    assert kinds >= {"gamification.points", "gamification.unlocked"}
    assert last_board[0]["user_id"] == ADA
