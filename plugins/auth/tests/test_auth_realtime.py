"""The authenticate hook on websockets: the same tokens, the same permissions, and a
revoked session closes its sockets (4401) at the kernel's next re-check."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from authhelpers import PASSWORD, bearer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kernel import Settings, create_app
from kernel.testing import serve


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


async def close_code(ws: ClientConnection, within: float = 5) -> int | None:
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


async def test_websocket_auth_topics_and_revocation(
    lyo_settings: Settings, lyo_plugins: list[object]
) -> None:
    settings = lyo_settings.model_copy(
        update={"ws": lyo_settings.ws.model_copy(update={"recheck_interval": 0.2})}
    )
    app = create_app(settings, lyo_plugins, discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        body = {"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"}
        assert (await http.post("/api/auth/register", json=body)).status_code == 201
        login = await http.post(
            "/api/auth/login", json={"email": body["email"], "password": PASSWORD}
        )
        token = login.json()["access_token"]
        ws_url = url.replace("http://", "ws://") + "/ws"

        async with connect(ws_url, proxy=None, ping_interval=None) as ws:
            await send(ws, type="auth", token="garbage.not.jwt")
            assert await close_code(ws) == 4401

        async with connect(ws_url, proxy=None, ping_interval=None) as ws:
            await send(ws, type="auth", token=token)
            ready = await recv(ws)
            assert ready["type"] == "ready" and ready["expires_at"]
            await send(ws, type="subscribe", topic="guarded:room")
            refused = await recv(ws)
            assert refused["type"] == "error" and refused["code"] == "forbidden"

            logout = await http.post("/api/auth/logout", headers=bearer(token))
            assert logout.status_code == 204
            assert await close_code(ws) == 4401
