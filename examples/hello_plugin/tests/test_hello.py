"""The hello plugin, tested the way any third-party plugin would be."""

from __future__ import annotations

import httpx
import pytest
from lyo_hello import plugin as hello

from kernel import Settings, create_app


async def test_greets_with_the_configured_greeting(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.get("/api/hello/")
    assert response.status_code == 200
    assert (await response.get_json())["message"] == "Hello, world."


async def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_HELLO__GREETING", "Bonjour")
    app = create_app(Settings(env="test"), [hello], discover=False)
    async with app.test_app():
        body = await (await app.test_client().get("/api/hello/greet/Ada?excited=true")).get_json()
    assert body["message"] == "Bonjour, Ada!"


async def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_HELLO__MAX_NAME_LENGTH", "0")
    with pytest.raises(Exception, match="LYO_HELLO__MAX_NAME_LENGTH"):
        create_app(Settings(env="test"), [hello], discover=False)


async def test_bad_input_is_a_422_problem(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.post("/api/hello/greetings", json={"name": "x" * 100})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["errors"][0]["pointer"] == "/name"


async def test_permission_guarded_route(lyo_client) -> None:  # type: ignore[no-untyped-def]
    assert (await lyo_client.get("/api/hello/me")).status_code == 401
    response = await lyo_client.get("/api/hello/me", headers={"Authorization": "Bearer ada-token"})
    assert (await response.get_json())["message"] == "Hello, ada!"


async def test_lifecycle_and_health(lyo_settings: Settings) -> None:
    from lyo_hello.lifecycle import counts

    starts, stops = counts.starts, counts.stops
    app = create_app(lyo_settings, [hello], discover=False)
    async with app.test_app():
        assert counts.starts == starts + 1
        ready = await (await app.test_client().get("/health/ready")).get_json()
        assert {"name": "hello:greeting", "status": "ok"}.items() <= next(
            c for c in ready["checks"] if c["name"] == "hello:greeting"
        ).items()
    assert counts.stops == stops + 1


async def test_found_through_its_entry_point_when_installed() -> None:
    app = create_app(Settings(env="test"), discover=True)
    assert app.kernel.plugin("hello").origin.startswith("lyo-hello")
    assert app.kernel.plugin("hello").module is hello


async def test_over_real_http(lyo_server: str) -> None:
    async with httpx.AsyncClient(base_url=lyo_server) as client:
        response = await client.post("/api/hello/greetings", json={"name": "Grace"})
    assert response.status_code == 201
    assert response.json()["message"] == "Hello, Grace."
