"""One ``/ws`` connection: its reader, writer, heartbeat and token guard, and how its
topics are authorized. The protocol is described in :mod:`kernel.web.ws`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from quart.wrappers import Websocket

from kernel.errors import KernelError
from kernel.identity import ANONYMOUS, Credentials, Identity, set_identity
from kernel.realtime.hub import HubUnavailable, Inbox, valid_topic

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.web.ws import WebsocketEndpoint

log = structlog.get_logger("lyo.ws")

GOING_AWAY, INTERNAL_ERROR, SLOW_CONSUMER = 1001, 1011, 1013
UNAUTHORIZED, IDLE = 4401, 4408

_NOT_JSON = object()


async def authorize_topic(kernel: Kernel, identity: Identity, topic: str) -> bool:
    """Ask each active plugin's ``authorize_topic`` in order; first non-None wins, else deny."""
    answer = await kernel.first("authorize_topic", identity=identity, topic=topic, kernel=kernel)
    return bool(answer)


class Connection:
    """One client: a reader, a writer draining the inbox, a heartbeat and a token guard.

    Every part ends the connection the same way, :meth:`close_soon`, and :meth:`run`
    tears everything down once. Frames go out through one lock, so ``subscribed`` is
    always sent before any ``message`` of its topic. A topic is authorized before the
    inbox is subscribed to it, and the writer sends a frame only if its topic is in
    ``topics`` when the frame goes out, so a refused or dropped topic never leaks one.
    """

    def __init__(self, endpoint: WebsocketEndpoint, ws: Websocket, request_id: str) -> None:
        self.endpoint = endpoint
        self.hub = endpoint.hub
        self.options = endpoint.options
        self.ws = ws
        self.request_id = request_id
        self.identity = ANONYMOUS
        self.token = ""
        self.topics: set[str] = set()
        self.inbox = Inbox(self.options.queue_size, self._overflowed)
        self.closing: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self.done = asyncio.Event()
        self.checked_at = 0.0
        self._send_lock = asyncio.Lock()
        self._refreshed = asyncio.Event()
        #: When the client last showed life: a message from it, or a frame sent to it.
        self.alive_at = time.monotonic()
        self.log = log.bind(request_id=request_id)

    @property
    def authenticated(self) -> bool:
        return self.identity.is_authenticated

    def close_soon(self, code: int, reason: str) -> None:
        if not self.closing.done():
            self.closing.set_result((code, reason))

    def _overflowed(self) -> None:
        self.close_soon(SLOW_CONSUMER, "slow consumer")

    async def run(self) -> None:
        parts = [self._read(), self._write(), self._heartbeat(), self._guard()]
        tasks = [asyncio.create_task(self._part(p)) for p in parts]
        try:
            try:
                code, reason = await self.closing
            finally:  # also when the client went away and Quart cancelled us
                for task in tasks:  # the writer may be stuck on a client that stopped reading
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for topic in self.topics:
                    self.hub.unsubscribe(topic, self.inbox)
                self.topics.clear()
            self.log.info("websocket closing", code=code, reason=reason)
            try:
                await asyncio.wait_for(self.ws.close(code, reason), self.options.close_timeout)
            except Exception as exc:  # the client may be gone or not reading
                self.log.debug("websocket close not delivered", error=repr(exc))
        finally:
            self.done.set()

    async def _part(self, part: Awaitable[None]) -> None:
        try:
            await part
        except Exception:
            self.log.exception("websocket connection failed")
            self.close_soon(INTERNAL_ERROR, "internal error")

    # -- sending -----------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send(orjson.dumps(message).decode())
            self.alive_at = time.monotonic()

    async def _error(self, code: str, detail: str, topic: str | None = None) -> None:
        message = {"type": "error", "code": code, "detail": detail}
        if topic is not None:
            message["topic"] = topic
        await self._send(message)

    async def _write(self) -> None:
        while True:
            topic, frame = await self.inbox.get()
            async with self._send_lock:
                # a frame taken while its topic was being refused or dropped stays here:
                # only topics this connection holds now are sent
                if topic in self.topics:
                    await self.ws.send(frame)
                    self.alive_at = time.monotonic()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.options.ping_interval)
            if self.authenticated:
                await self._send({"type": "ping"})

    # -- reading -----------------------------------------------------------------------

    async def _read(self) -> None:
        while not self.closing.done():
            authenticated = self.authenticated
            if authenticated:  # idle: nothing received and nothing sent for idle_timeout
                timeout = self.alive_at + self.options.idle_timeout - time.monotonic()
            else:
                timeout = self.options.auth_timeout
            try:
                raw = await asyncio.wait_for(self.ws.receive(), max(timeout, 0))
            except TimeoutError:
                if not authenticated:
                    self.close_soon(UNAUTHORIZED, "authentication timed out")
                    return
                if time.monotonic() - self.alive_at >= self.options.idle_timeout:
                    self.close_soon(IDLE, "idle")
                    return
                continue  # the server sent something meanwhile: the client is there
            self.alive_at = time.monotonic()
            await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            message = _NOT_JSON
        kind = message.get("type") if isinstance(message, dict) else None
        if not self.authenticated and kind != "auth":
            self.close_soon(UNAUTHORIZED, "the first message must be auth")
        elif message is _NOT_JSON:
            await self._error("bad_json", "Messages are JSON objects with a 'type'.")
        elif kind is None:
            await self._error("bad_message", "Messages are JSON objects with a 'type'.")
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "auth":
            await self._on_auth(message)
        elif kind == "subscribe":
            await self._on_subscribe(message)
        elif kind == "unsubscribe":
            await self._on_unsubscribe(message)
        elif kind != "pong":  # a pong answers our ping: nothing to do
            await self._error("unknown_type", f"Unknown message type {kind!r}.")

    async def _on_auth(self, message: dict[str, Any]) -> None:
        token = message.get("token")
        identity = await self._identify(token) if isinstance(token, str) and token else None
        if identity is None:
            self.close_soon(UNAUTHORIZED, "invalid token")
            return
        if self.authenticated and identity.id != self.identity.id:
            await self._error("identity_mismatch", "A later auth must be for the same identity.")
            return
        self.identity, self.token = identity, str(token)
        self.checked_at = time.monotonic()
        self.log = self.log.bind(identity=identity.id)
        set_identity(identity)
        self._refreshed.set()
        expires = identity.expires_at.isoformat() if identity.expires_at else None
        await self._send(
            {
                "type": "ready",
                "expires_at": expires,
                "ping_interval": self.options.ping_interval,
                "idle_timeout": self.options.idle_timeout,
            }
        )

    async def _on_subscribe(self, message: dict[str, Any]) -> None:
        topic = message.get("topic")
        if not valid_topic(topic):
            await self._error("invalid_topic", "Send a 'topic' made of letters, digits, _.:/@+=#-.")
            return
        assert isinstance(topic, str)
        if topic not in self.topics and len(self.topics) >= self.options.max_topics:
            await self._error(
                "too_many_topics", f"At most {self.options.max_topics} topics.", topic
            )
            return
        # authorize before subscribing: a refused topic never reaches this inbox
        _, refusal = await self._verdict(topic)
        if refusal is not None:
            await self._error(*refusal, topic)
            return
        handler = self.hub.handler_for(topic)
        # hold the send lock: no frame of this topic may overtake 'subscribed'
        async with self._send_lock:
            try:
                await self.hub.subscribe(topic, self.inbox)
            except HubUnavailable as exc:
                frame = {"type": "error", "code": "unavailable", "detail": exc.detail}
                await self.ws.send(orjson.dumps({**frame, "topic": topic}).decode())
                return
            # kernel topics: the snapshot is taken after the subscription began (so a
            # fast task cannot finish unseen), and asked again (access may have changed)
            snapshot, refusal = (None, None) if handler is None else await self._verdict(topic)
            try:
                text = orjson.dumps({"type": "subscribed", "topic": topic, "snapshot": snapshot})
            except TypeError:
                self.log.exception("topic snapshot is not JSON", topic=topic)
                refusal = ("internal", "The topic's snapshot could not be encoded.")
            if refusal is not None:
                if topic not in self.topics:
                    self._drop(topic)
                code, detail = refusal
                text = orjson.dumps(
                    {"type": "error", "code": code, "detail": detail, "topic": topic}
                )
            else:
                self.topics.add(topic)
            await self.ws.send(text.decode())

    async def _on_unsubscribe(self, message: dict[str, Any]) -> None:
        topic = message.get("topic")
        if not valid_topic(topic):
            await self._error("invalid_topic", "Send the 'topic' to unsubscribe from.")
            return
        assert isinstance(topic, str)
        self._drop(topic)
        await self._send({"type": "unsubscribed", "topic": topic})

    def _drop(self, topic: str) -> None:
        self.topics.discard(topic)
        self.hub.unsubscribe(topic, self.inbox)
        self.inbox.discard(topic)

    # -- authentication and authorization ----------------------------------------------

    async def _identify(self, token: str) -> Identity | None:
        """The identity for ``token``, or ``None`` when it is refused or already expired."""
        headers = self.ws.headers
        credentials = Credentials(
            token=token,
            transport="websocket",
            remote_addr=self.ws.remote_addr,
            user_agent=headers.get("User-Agent"),
            request_id=self.request_id,
        )
        try:
            identity = await self.endpoint.kernel.authenticate(credentials)
        except KernelError:
            return None
        if not identity.is_authenticated or _seconds_left(identity) <= 0:
            return None
        return identity

    async def _verdict(self, topic: str) -> tuple[Any, tuple[str, str] | None]:
        """``(snapshot, None)`` when ``topic`` is allowed, else ``(None, (code, detail))``."""
        handler = self.hub.handler_for(topic)
        try:
            if handler is not None:
                return await handler(self.identity, topic), None
            if await authorize_topic(self.endpoint.kernel, self.identity, topic):
                return None, None
        except KernelError as exc:
            if exc.status not in (401, 403, 404):
                return None, ("unavailable", exc.detail)
        except Exception:
            self.log.exception("topic authorization failed", topic=topic)
            return None, ("internal", "The topic could not be authorized.")
        return None, ("forbidden", f"Not allowed to subscribe to {topic!r}.")

    async def _guard(self) -> None:
        """Close with 4401 when the token expires; re-check it every ``recheck_interval``."""
        await self._refreshed.wait()
        while True:
            self._refreshed.clear()
            expires_in = _seconds_left(self.identity)
            check_in = self.checked_at + self.options.recheck_interval - time.monotonic()
            if expires_in <= 0:
                self.close_soon(UNAUTHORIZED, "token expired")
                return
            if check_in > 0:
                # a later auth sets _refreshed, and the deadlines are recomputed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._refreshed.wait(), min(expires_in, check_in))
                continue
            await self._recheck()

    async def _recheck(self) -> None:
        self.checked_at = time.monotonic()
        try:
            identity = await self._identify(self.token)
        except Exception as exc:  # the revocation store may be down; keep serving
            self.log.warning("token re-check failed", error=repr(exc))
            return
        if identity is None or identity.id != self.identity.id:
            self.close_soon(UNAUTHORIZED, "token revoked")
            return
        self.identity = identity
        for topic in list(self.topics):
            _, refusal = await self._verdict(topic)
            if refusal is not None and refusal[0] == "forbidden" and topic in self.topics:
                self._drop(topic)
                await self._error("forbidden", "No longer allowed; unsubscribed.", topic)


def _seconds_left(identity: Identity) -> float:
    """Seconds until ``identity`` expires (infinite when it does not); naive means UTC."""
    if identity.expires_at is None:
        return float("inf")
    expires = identity.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires.timestamp() - time.time()
