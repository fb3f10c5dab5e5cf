"""The websocket endpoint ``/ws``: one connection per client, many topics, JSON messages.

Every message is a JSON object with a ``type``.

Client to server:

- ``auth {token}``: the first message, within ``auth_timeout``; a token in the URL is
  never read. Sent again later (same identity, fresh token) it extends the session.
- ``subscribe {topic}``: answered ``subscribed {topic, snapshot}`` or ``error``.
- ``unsubscribe {topic}``: answered ``unsubscribed {topic}``; no frame of that topic follows.
- ``ping``: answered ``pong``. ``pong`` (to a server ping) is accepted and ignored.

Server to client: ``ready {expires_at, ping_interval, idle_timeout}`` after each
successful ``auth``; ``subscribed``; ``unsubscribed``; ``message {topic, id, data}``;
``error {code, detail[, topic]}`` (the connection stays open); ``pong``; and ``ping``
every ``ping_interval`` (answering it is optional). ``snapshot`` is the topic's
current state for kernel-owned topics (``task:{id}``: the task's status, taken after
the subscription began, so a fast task cannot finish unseen), else ``null``; messages
that follow may predate it, so clients apply them idempotently by ``id``.

Error codes: ``bad_json``, ``bad_message``, ``unknown_type``, ``invalid_topic``,
``forbidden`` (also sent, with ``topic``, when a periodic re-check finds a subscription
no longer allowed; it is dropped), ``too_many_topics``, ``identity_mismatch``,
``unavailable``, ``internal``.

Close codes:

- 1001: the server is shutting down (:meth:`WebsocketEndpoint.close_all`); reconnect.
- 1011: an internal error.
- 1013: slow consumer: more than ``queue_size`` frames waited to be sent; reconnect
  and resubscribe (snapshots resynchronise).
- 4401: no ``auth`` in time, ``auth`` not first, a bad token, or the token expired
  (``Identity.expires_at``) or was revoked (re-checked every ``recheck_interval``).
- 4408: idle: for ``idle_timeout`` nothing came from the client and nothing could be
  sent to it. A subscribed client that only listens stays: every frame the server
  manages to send, its own ``ping`` included, counts as life. Under Hypercorn (``lyo
  serve``) the server also sends protocol-level pings every ``ping_interval``, which
  clients (browsers included) answer by themselves, and closes a connection from which
  nothing, not even a pong, was read for ``idle_timeout`` (:func:`hypercorn_liveness`):
  a client that is gone is closed even while sends still fit in its socket's buffer.

A browser ``Origin`` (sent by browsers only) outside ``origins`` and not the
server's own host is refused before the handshake: HTTP 403 ``problem+json``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import Gauge
from quart import Quart, Response
from quart.globals import websocket_ctx

from kernel.config import WebsocketSettings
from kernel.errors import PROBLEM_JSON
from kernel.kernel import Kernel
from kernel.realtime.hub import Hub
from kernel.web.middleware import REQUEST_ID_KEY, problem_body
from kernel.web.ws_connection import GOING_AWAY, Connection

WS_CONNECTIONS = Gauge(
    "lyo_ws_connections", "Open websocket connections.", multiprocess_mode="livesum"
)


#: Longest gap between Hypercorn's protocol pings: Hypercorn's ping loop sleeps a whole
#: interval before it notices a closed connection, holding the connection (and a
#: graceful shutdown) that long.
PROTOCOL_PING_MAX = 5.0


def hypercorn_liveness(config: Any, options: WebsocketSettings) -> None:
    """Protocol-level liveness for ``/ws`` under Hypercorn: a websocket ping every
    ``ping_interval`` (at most every :data:`PROTOCOL_PING_MAX` s) and, for every
    connection, closing it once nothing (data, or the pong a live client sends by
    itself) was read for ``idle_timeout`` seconds. HTTP requests whose client sends
    nothing for that long are closed too."""
    interval = min(options.ping_interval, PROTOCOL_PING_MAX)
    config.websocket_ping_interval = interval
    config.read_timeout = max(options.idle_timeout, interval * 2)


def register_websocket(
    app: Quart, kernel: Kernel, options: WebsocketSettings, hub: Hub | None = None
) -> WebsocketEndpoint:
    """Serve ``/ws`` on ``app``; returns the endpoint (also ``app.extensions["lyo.ws"]``).

    ``options.origins`` lists browser origins (``https://app.example.com``); ``["*"]``
    allows any, and the server's own host is always allowed. Call
    ``await endpoint.close_all()`` when shutdown begins.
    """
    endpoint = WebsocketEndpoint(kernel, hub, options)

    # /ws checks origins itself (CORS, answered by the kernel's middleware, is HTTP's)
    async def ws_view() -> Response | None:
        return await endpoint.serve()

    app.add_websocket("/ws", "lyo_ws", ws_view)
    app.extensions["lyo.ws"] = endpoint
    return endpoint


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Whether a handshake with this ``Origin`` (``None``: not a browser) may proceed."""
    if origin is None or "*" in allowed:
        return True
    origin = origin.strip().rstrip("/").lower()
    if host and urlsplit(origin).netloc == host.lower():
        return True
    return origin in {a.rstrip("/").lower() for a in allowed}


class WebsocketEndpoint:
    """The ``/ws`` view and the registry of its open connections."""

    def __init__(self, kernel: Kernel, hub: Hub | None, options: WebsocketSettings) -> None:
        self.kernel = kernel
        self._hub = hub
        self.options = options
        self.connections: set[Connection] = set()
        self.accepting = True

    @property
    def hub(self) -> Hub:
        """The hub given, else the kernel's (made when the kernel starts)."""
        return self._hub or self.kernel.hub

    @hub.setter
    def hub(self, hub: Hub) -> None:
        self._hub = hub

    async def serve(self) -> Response | None:
        ws = websocket_ctx.websocket
        request_id = str(ws.scope.get(REQUEST_ID_KEY, ""))
        origin = ws.headers.get("Origin")
        if not self.accepting:
            return _problem(503, "Service Unavailable", "The server is shutting down.", request_id)
        if not origin_allowed(origin, ws.headers.get("Host"), self.options.origins):
            return _problem(403, "Forbidden", f"Origin {origin!r} is not allowed.", request_id)
        await ws.accept()
        connection = Connection(self, ws, request_id)
        self.connections.add(connection)
        WS_CONNECTIONS.inc()
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            WS_CONNECTIONS.dec()
        return None

    async def close_all(
        self, code: int = GOING_AWAY, reason: str = "server shutting down", grace: float = 5
    ) -> None:
        """Refuse new connections, close open ones with ``code``; wait up to ``grace`` s."""
        self.accepting = False
        waits = [asyncio.create_task(c.done.wait()) for c in self.connections]
        for connection in list(self.connections):
            connection.close_soon(code, reason)
        if waits:
            _, pending = await asyncio.wait(waits, timeout=grace)
            for task in pending:
                task.cancel()


def _problem(status: int, title: str, detail: str, request_id: str) -> Response:
    body = problem_body(status, title, detail, "/ws", request_id)
    return Response(body, status=status, content_type=PROBLEM_JSON)
