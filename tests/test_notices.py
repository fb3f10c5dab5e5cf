"""The per-user topic ``user:{id}`` and ``kernel.notify_user``, over a real server and
websocket: in-process in the SQLite run, through Redis pub/sub in the PostgreSQL run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from kernel import Identity, Settings, create_app, transaction
from kernel.testing import make_plugin, serve, test_redis_url, token_plugin
from kernel.web.app import App

ALICE = Identity(id="7", kind="user")
ADMIN = Identity(id="1", kind="user", roles=frozenset({"admin"}), permissions=frozenset({"*"}))


def greedy_authorize(identity: Identity, topic: str) -> bool:
    return True  # a plugin that says yes to everything is never asked about user:


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()


@pytest.fixture
def lyo_plugins() -> Iterable[Any]:
    return [
        token_plugin({"alice": ALICE, "admin": ADMIN}),
        make_plugin("community", authorize_topic=greedy_authorize),
    ]


@pytest_asyncio.fixture
async def server(
    lyo_settings: Settings, lyo_plugins: Iterable[Any]
) -> AsyncIterator[tuple[App, str]]:
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with serve(app) as url:
        app.kernel.activate()
        yield app, url.replace("http://", "ws://") + "/ws"


async def signed_in(url: str, token: str) -> ClientConnection:
    ws = await connect(url, proxy=None, ping_interval=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "ready"
    return ws


async def subscribe(ws: ClientConnection, topic: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


async def test_only_the_owner_subscribes_to_a_user_topic(server: tuple[App, str]) -> None:
    _, url = server
    alice, admin = await signed_in(url, "alice"), await signed_in(url, "admin")
    try:
        assert await subscribe(alice, "user:7") == {
            "type": "subscribed",
            "topic": "user:7",
            "snapshot": None,
        }
        for ws, topic in ((alice, "user:1"), (admin, "user:7"), (alice, "user:")):
            refused = await subscribe(ws, topic)
            assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    finally:
        await alice.close()
        await admin.close()


async def test_notify_user_sends_kind_and_data_after_commit_only(
    server: tuple[App, str],
) -> None:
    app, url = server
    kernel = app.kernel
    alice = await signed_in(url, "alice")
    try:
        assert (await subscribe(alice, "user:7"))["type"] == "subscribed"
        with pytest.raises(RuntimeError):
            async with transaction():
                await kernel.notify_user(7, "community.reply", {"n": "rolled back"})
                raise RuntimeError("roll back")
        async with transaction():
            await kernel.notify_user(7, "community.reply", {"n": "committed"})
            await kernel.notify_user(8, "community.reply", {"n": "someone else's"})
        await kernel.notify_user("7", "community.mention")  # outside a transaction: now
        first = json.loads(await asyncio.wait_for(alice.recv(), 5))
        assert first["topic"] == "user:7"
        assert first["data"] == {"kind": "community.reply", "n": "committed"}
        second = json.loads(await asyncio.wait_for(alice.recv(), 5))
        assert second["data"] == {"kind": "community.mention"}
    finally:
        await alice.close()


async def test_notify_user_checks_its_kind_and_data(server: tuple[App, str]) -> None:
    kernel = server[0].kernel
    for kind in ("reply", "nobody.reply", "Community.reply", "community.", ".reply"):
        with pytest.raises(ValueError, match="kind"):
            await kernel.notify_user(7, kind)
    with pytest.raises(ValueError, match="own 'kind'"):
        await kernel.notify_user(7, "community.reply", {"kind": "other"})
    with pytest.raises(TypeError):
        await kernel.notify_user(7, "community.reply", {"x": object()})
    with pytest.raises(ValueError, match="valid topic"):
        await kernel.notify_user("a b", "community.reply")
