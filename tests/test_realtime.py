"""The websocket endpoint and the real-time hub, under real Hypercorn servers.

Clients are the ``websockets`` package; the cross-process tests use the real Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kernel import Identity, NotFound, Settings, Unauthorized, create_app
from kernel.plugins import hookspecs
from kernel.realtime.hub import Hub, HubUnavailable, Inbox, RedisHub, create_hub
from kernel.testing import make_plugin, serve, token_plugin
from kernel.web.ws import WebsocketEndpoint

REDIS_URL = os.environ.get("LYO_TEST_REDIS", "redis://127.0.0.1:6379/0")
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.fixture(autouse=True)
def _authorize_topic_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declare the ``authorize_topic`` hook if kernel/plugins/hookspecs.py does not (yet)."""
    if not hasattr(hookspecs, "authorize_topic"):

        @hookspecs.hookspec
        def authorize_topic(identity: Identity, topic: str) -> bool | None: ...

        monkeypatch.setattr(hookspecs, "authorize_topic", authorize_topic, raising=False)


def user(id: str, *roles: str, expires_in: float | None = None) -> Identity:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
    return Identity(id=id, kind="user", roles=frozenset(roles), expires_at=expires)


def authorize_topic(identity: Identity, topic: str) -> bool | None:
    if topic.startswith("public:"):
        return True
    if topic.startswith("user:"):
        return topic == f"user:{identity.id}"
    if topic.startswith("vip:"):
        return "vip" in identity.roles
    if topic.startswith("secret:"):
        return False
    return None  # not ours: with nobody else answering, denied


def reject_banned(credentials: Any) -> Identity | None:
    if credentials.token == "banned":
        raise Unauthorized("This token is banned.")
    return None


@asynccontextmanager
async def ws_server(
    hub: Hub, tokens: dict[str, Identity] | None = None, **options: Any
) -> AsyncIterator[tuple[str, WebsocketEndpoint]]:
    """A real server with ``/ws`` on ``hub``; yields the websocket URL and the endpoint."""
    plugins = [
        token_plugin(tokens if tokens is not None else {"alice": user("alice")}),
        make_plugin("topics", authorize_topic=authorize_topic, authenticate=reject_banned),
    ]
    # CORS is on: it must neither refuse non-browser clients nor judge /ws's origins
    settings = Settings(env="test", access_log=False, cors_origins=["https://cors.example"])
    app = create_app(settings, plugins, discover=False)
    options.setdefault("origins", ["https://app.example"])
    endpoint: WebsocketEndpoint = app.extensions["lyo.ws"]  # create_app serves /ws
    endpoint.hub = hub
    endpoint.options = endpoint.options.model_copy(update=options)
    await hub.start()
    try:
        async with serve(app) as url:
            try:
                yield url.replace("http://", "ws://") + "/ws", endpoint
            finally:
                await endpoint.close_all()
    finally:
        await hub.stop()


@asynccontextmanager
async def client(
    url: str, token: str | None = "alice", origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    """A connected client, signed in with ``token`` (``None``: not signed in)."""
    async with connect(url, origin=origin, proxy=None, ping_interval=None) as ws:  # type: ignore[arg-type]
        if token is not None:
            await send(ws, type="auth", token=token)
            assert (await recv(ws))["type"] == "ready"
        yield ws


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection, within: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), within))
    return message


async def close_code(ws: ClientConnection, within: float = 5) -> int | None:
    """Read until the server closes; its close code."""
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


async def subscribe(ws: ClientConnection, topic: str) -> dict[str, Any]:
    await send(ws, type="subscribe", topic=topic)
    return await recv(ws)


# -- the protocol, on the in-process hub ---------------------------------------------------


async def test_auth_subscribe_deliver_unsubscribe_ping() -> None:
    hub = create_hub(None)
    async with ws_server(hub) as (url, endpoint), connect(url, proxy=None) as ws:
        await send(ws, type="auth", token="alice")
        ready = await recv(ws)
        assert ready == {
            "type": "ready",
            "expires_at": None,
            "ping_interval": 20,
            "idle_timeout": 60,
        }
        assert await subscribe(ws, "public:news") == {
            "type": "subscribed",
            "topic": "public:news",
            "snapshot": None,
        }
        assert (await subscribe(ws, "user:alice"))["type"] == "subscribed"

        await hub.publish("public:news", {"n": 1}, id="m1")
        assert await recv(ws) == {
            "type": "message",
            "topic": "public:news",
            "id": "m1",
            "data": {"n": 1},
        }
        await send(ws, type="unsubscribe", topic="public:news")
        assert await recv(ws) == {"type": "unsubscribed", "topic": "public:news"}
        await hub.publish("public:news", {"n": 2}, id="m2")
        await hub.publish("user:alice", {"n": 3}, id="m3")
        assert (await recv(ws))["id"] == "m3"  # m2, on the dropped topic, never came

        await send(ws, type="ping")
        assert await recv(ws) == {"type": "pong"}
        (connection,) = endpoint.connections
        await ws.close()
        await asyncio.wait_for(connection.done.wait(), 5)
        assert hub.subscriber_count("user:alice") == 0  # cleaned up on disconnect


@pytest.mark.parametrize(
    "first",
    [
        None,  # says nothing
        {"type": "auth", "token": "nobody"},  # unknown token: anonymous
        {"type": "auth", "token": "banned"},  # a plugin raises Unauthorized
        {"type": "auth"},  # no token
        {"type": "subscribe", "topic": "public:news"},  # not auth first
        "not json",
    ],
)
async def test_without_valid_auth_first_the_socket_closes_4401(first: Any) -> None:
    async with (
        ws_server(create_hub(None), auth_timeout=0.3) as (url, _),
        connect(url + "?token=alice", proxy=None) as ws,  # a token in the URL is never read
    ):
        if isinstance(first, dict):
            await send(ws, **first)
        elif first is not None:
            await ws.send(first)
        assert await close_code(ws) == 4401


async def test_bad_messages_get_errors_and_the_socket_stays_usable() -> None:
    async with ws_server(create_hub(None)) as (url, _), client(url) as ws:
        for raw, code in [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_message"),
            ("null", "bad_message"),
            ('{"topic": "public:x"}', "bad_message"),
            ('{"type": "shout"}', "unknown_type"),
            ('{"type": "subscribe"}', "invalid_topic"),
            ('{"type": "subscribe", "topic": "has spaces"}', "invalid_topic"),
            ('{"type": "unsubscribe", "topic": 7}', "invalid_topic"),
        ]:
            await ws.send(raw)
            answer = await recv(ws)
            assert (answer["type"], answer["code"]) == ("error", code), raw
            assert answer["detail"]
        for topic in ["secret:plans", "user:bob", "elsewhere:x"]:  # refused, refused, unanswered
            assert await subscribe(ws, topic) == {
                "type": "error",
                "code": "forbidden",
                "detail": f"Not allowed to subscribe to {topic!r}.",
                "topic": topic,
            }
        await send(ws, type="ping")
        assert await recv(ws) == {"type": "pong"}


async def test_kernel_topics_carry_a_snapshot_taken_after_subscribing() -> None:
    hub = create_hub(None)

    async def task_status(identity: Identity, topic: str) -> dict[str, Any]:
        # the task moves on while its status is read: nothing may be lost or leaked
        await hub.publish(topic, {"status": "done"}, id=f"{topic}:done")
        if topic != "task:1" or identity.id != "alice":
            raise NotFound("No such task.")
        return {"status": "running"}

    hub.add_topic_handler("task:", task_status)
    async with ws_server(hub) as (url, _), client(url) as ws:
        assert await subscribe(ws, "task:1") == {
            "type": "subscribed",
            "topic": "task:1",
            "snapshot": {"status": "running"},
        }
        assert (await recv(ws))["id"] == "task:1:done"
        refused = await subscribe(ws, "task:2")
        assert (refused["type"], refused["code"], refused["topic"]) == (
            "error",
            "forbidden",
            "task:2",
        )
        await send(ws, type="ping")
        assert await recv(ws) == {"type": "pong"}  # task:2's message was never delivered
        assert hub.subscriber_count("task:2") == 0


async def test_a_listening_client_stays_and_a_silent_one_is_closed() -> None:
    """Liveness needs no message from the client: one that only listens (its library
    answering protocol pings by itself) stays past several idle timeouts; one that is
    gone (reads nothing, so answers no protocol ping) is closed and forgotten."""
    async with ws_server(create_hub(None), ping_interval=0.2, idle_timeout=1) as (url, endpoint):
        async with client(url) as ws:
            await subscribe(ws, "public:quiet")
            listened = asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - listened < 3:
                assert await recv(ws) == {"type": "ping"}  # never a close
            await send(ws, type="ping")
            while (frame := await recv(ws)) == {"type": "ping"}:
                pass
            assert frame == {"type": "pong"}
        async with client(url) as gone:
            await subscribe(gone, "public:quiet")
            [connection] = endpoint.connections
            gone.transport.pause_reading()  # a client that froze: it reads nothing more
            await asyncio.wait_for(connection.done.wait(), 15)  # generous: read_timeout 1 s
            assert not endpoint.connections


async def test_a_slow_consumer_is_closed_1013() -> None:
    hub = create_hub(None)
    async with ws_server(hub, queue_size=4) as (url, _), client(url) as ws:
        await subscribe(ws, "public:flood")
        for i in range(50):  # faster than any socket: the inbox of 4 overflows
            await hub.publish("public:flood", {"i": i})
        assert await close_code(ws) == 1013


async def test_an_expiring_token_closes_4401_unless_renewed() -> None:
    tokens = {"short": user("alice", expires_in=1), "fresh": user("alice", expires_in=60)}
    async with ws_server(create_hub(None), tokens) as (url, _):
        async with client(url, "short") as ws:
            assert await close_code(ws) == 4401
        tokens["short"] = user("alice", expires_in=1)
        async with client(url, "short") as ws:
            await send(ws, type="auth", token="fresh")  # renewed in time: stays open
            assert (await recv(ws))["type"] == "ready"
            await asyncio.sleep(1.2)
            await send(ws, type="ping")
            assert await recv(ws) == {"type": "pong"}


async def test_a_later_auth_must_keep_the_identity() -> None:
    tokens = {"alice": user("alice"), "bob": user("bob")}
    async with ws_server(create_hub(None), tokens) as (url, _), client(url) as ws:
        await send(ws, type="auth", token="bob")
        assert (await recv(ws))["code"] == "identity_mismatch"
        assert (await subscribe(ws, "user:alice"))["type"] == "subscribed"


async def test_revoked_permissions_and_tokens_are_noticed_on_recheck() -> None:
    tokens = {"carol": user("carol", "vip")}
    async with (
        ws_server(create_hub(None), tokens, recheck_interval=0.2) as (url, _),
        client(url, "carol") as ws,
    ):
        assert (await subscribe(ws, "vip:lounge"))["type"] == "subscribed"
        tokens["carol"] = user("carol")  # the vip role is taken away
        dropped = await recv(ws)
        assert (dropped["type"], dropped["code"], dropped["topic"]) == (
            "error",
            "forbidden",
            "vip:lounge",
        )
        del tokens["carol"]  # the token is revoked
        assert await close_code(ws) == 4401


async def test_origin_is_checked_for_browsers() -> None:
    async with ws_server(create_hub(None)) as (url, _):
        with pytest.raises(InvalidStatus) as refused:
            async with client(url, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        assert b"https://evil.example" in refused.value.response.body
        same_host = url.replace("ws://", "http://").removesuffix("/ws")
        for origin in ["https://app.example", same_host, None]:
            async with client(url, origin=origin) as ws:
                await send(ws, type="ping")
                assert await recv(ws) == {"type": "pong"}


async def test_shutdown_closes_sockets_1001_and_refuses_new_ones() -> None:
    async with ws_server(create_hub(None)) as (url, endpoint), client(url) as ws:
        await endpoint.close_all()
        assert await close_code(ws) == 1001
        assert not endpoint.connections
        with pytest.raises(InvalidStatus) as refused:
            async with client(url):
                pass
        assert refused.value.response.status_code == 503


# -- fan-out across processes through Redis --------------------------------------------------


def redis_hub(prefix: str) -> RedisHub:
    hub = create_hub(REDIS_URL, prefix=prefix)
    assert isinstance(hub, RedisHub)
    return hub


async def test_redis_fans_out_across_api_processes_and_from_workers() -> None:
    prefix = f"lyo-test-{uuid.uuid4().hex}:rt:"
    hub_a, hub_b, worker = redis_hub(prefix), redis_hub(prefix), redis_hub(prefix)
    try:
        async with (
            ws_server(hub_a) as (url_a, _),
            ws_server(hub_b) as (url_b, _),
            client(url_a) as on_a,
            client(url_b) as on_b,
        ):
            for ws in (on_a, on_b):
                assert (await subscribe(ws, "public:course-7"))["type"] == "subscribed"
            await hub_b.publish("public:course-7", {"from": "b"}, id="from-b")
            await worker.publish("public:course-7", {"from": "worker"}, id="from-worker")
            for ws in (on_a, on_b):
                assert [(await recv(ws))["id"] for _ in range(2)] == ["from-b", "from-worker"]
            await hub_a.publish("public:elsewhere", {}, id="nobody-listens")
            await worker.publish("public:course-7", {"last": True}, id="last")
            for ws in (on_a, on_b):
                assert (await recv(ws))["id"] == "last"
            # a task's status changes are sent without waiting and still arrive in order,
            # across round trips and mixed with awaited publishes
            for n in range(20):
                if n % 5 == 4:
                    await worker.publish("public:course-7", {"n": n}, id=f"soon-{n}")
                else:
                    worker.publish_soon("public:course-7", {"n": n}, id=f"soon-{n}")
            await worker.pipe.settle()
            for ws in (on_a, on_b):
                assert [(await recv(ws))["id"] for _ in range(20)] == [
                    f"soon-{n}" for n in range(20)
                ]
    finally:
        await worker.stop()  # a worker never started its hub; stop still closes it


async def test_listeners_hear_their_topic_from_any_process() -> None:
    local = create_hub(None)
    heard: list[object] = []
    stop = local.listen("cache:changed", heard.append)
    await local.publish("cache:changed", {"id": 1})  # not started: nothing heard
    await local.start()
    await local.publish("cache:changed", {"id": 2})
    await local.publish("cache:other", {"id": 3})
    assert heard == [{"id": 2}]
    with pytest.raises(ValueError):
        local.listen("no spaces", heard.append)

    prefix = f"lyo-test-{uuid.uuid4().hex}:rt:"
    api, worker = redis_hub(prefix), redis_hub(prefix)
    across: list[object] = []

    def failing(data: object) -> None:
        raise RuntimeError("a broken listener")

    api.listen("cache:changed", failing)  # logged; the others still hear
    stop_across = api.listen("cache:changed", across.append)
    await api.start()
    try:
        await api.subscribe("cache:ready", Inbox(10))  # returns once the listener is live
        await worker.publish("cache:changed", {"id": 4})
        for _ in range(100):
            if across:
                break
            await asyncio.sleep(0.02)
        assert across == [{"id": 4}]
        stop_across()
        await worker.publish("cache:changed", {"id": 5})
        await api.publish("cache:ready", {})  # after the one above, on the same connection
        await asyncio.sleep(0.2)
        assert across == [{"id": 4}]
    finally:
        stop()
        await api.stop()
        await worker.stop()


async def test_the_redis_listener_reconnects_after_losing_its_connection() -> None:
    hub = redis_hub(f"lyo-test-{uuid.uuid4().hex}:rt:")
    admin = Redis.from_url(REDIS_URL)
    try:
        async with ws_server(hub) as (url, _), client(url) as ws:
            await subscribe(ws, "public:news")
            ids = [c["id"] for c in await admin.client_list() if c["name"] == hub.client_name]
            assert len(ids) == 1
            await admin.client_kill_filter(_id=ids[0])
            async with asyncio.timeout(10):  # bounded: backoff starts at 0.1 s
                while True:
                    await hub.publish("public:news", {"after": "reconnect"})
                    try:
                        message = await recv(ws, within=0.2)
                        break
                    except TimeoutError:
                        continue
            assert message["data"] == {"after": "reconnect"}
            assert hub.live
    finally:
        await admin.aclose()


async def test_a_redis_outage_neither_crashes_publishers_nor_subscribers() -> None:
    hub = create_hub(DOWN_URL)
    assert isinstance(hub, RedisHub)
    hub.ready_timeout = 0.3
    await hub.publish("public:news", {"n": 1})  # logged and dropped
    await hub.publish("public:news", {"n": 2})  # dropped at once by the breaker
    hub.publish_soon("public:news", {"n": 3})  # the same, without waiting
    await hub.pipe.settle()
    async with ws_server(hub) as (url, _), client(url) as ws:
        refused = await subscribe(ws, "public:news")
        assert (refused["type"], refused["code"]) == ("error", "unavailable")
        await send(ws, type="ping")
        assert await recv(ws) == {"type": "pong"}
    assert not hub.live


async def test_a_publish_sent_without_waiting_fails_quietly_and_opens_the_breaker() -> None:
    hub = create_hub(DOWN_URL)
    assert isinstance(hub, RedisHub)
    hub.publish_soon("public:news", {"n": 1})  # logged and dropped, never raised
    await hub.pipe.settle()
    assert hub._breaker.state == "open"  # so the next ones are dropped at once
    hub.publish_soon("public:news", {"n": 2})
    await hub.stop()


async def test_hub_requires_start_and_bounded_inboxes() -> None:
    hub = create_hub(None)
    with pytest.raises(RuntimeError, match="start"):
        await hub.subscribe("public:x", Inbox(1))
    with pytest.raises(ValueError):
        Inbox(0)
    with pytest.raises(ValueError, match="invalid topic"):
        await hub.publish("no spaces allowed", {})
    with pytest.raises(HubUnavailable):
        down = create_hub(DOWN_URL)
        assert isinstance(down, RedisHub)
        down.ready_timeout = 0.1
        await down.start()
        try:
            await down.subscribe("public:x", Inbox(1))
        finally:
            await down.stop()


async def test_untrusted_host_cannot_open_a_websocket() -> None:
    """DNS rebinding: a page on a name that resolves to us sends that name as Host
    (here "localhost", while only 127.0.0.1 is trusted)."""
    from websockets.exceptions import InvalidStatus

    settings = Settings(env="test", access_log=False, trusted_hosts=["127.0.0.1"])
    app = create_app(settings, [token_plugin({"alice": user("alice")})], discover=False)
    async with serve(app) as url:
        ws_url = url.replace("http://", "ws://") + "/ws"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url.replace("127.0.0.1", "localhost"), proxy=None):
                pass
        assert refused.value.response.status_code == 403
        async with connect(ws_url, proxy=None) as ws:  # Host: 127.0.0.1:<port>
            await send(ws, type="auth", token="alice")
            assert (await recv(ws))["type"] == "ready"
