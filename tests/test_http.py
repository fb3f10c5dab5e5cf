"""HTTP: problem+json errors, request ids, middleware, identity, OpenAPI."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_request, validate_response

from kernel import (
    Conflict,
    Identity,
    Kernel,
    Settings,
    TooManyRequests,
    create_app,
    current_identity,
    problem_responses,
    require,
)
from kernel.testing import make_plugin, token_plugin

bp = Blueprint("demo", __name__)


class Item(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


@bp.post("/items")
@validate_request(Item)
@validate_response(Item, 201)
async def create_item(data: Item) -> tuple[Item, int]:
    """Create an item."""
    if data.name == "taken":
        raise Conflict("An item named 'taken' exists.", field="name")
    return data, 201


@bp.delete("/items/<name>")
@problem_responses(409)
async def delete_item(name: str) -> tuple[str, int]:
    """Delete an item."""
    if name == "taken":
        raise Conflict("The item 'taken' is in use.")
    return "", 204


@bp.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("secret internals")


@bp.get("/slow-down")
async def slow_down() -> dict[str, str]:
    raise TooManyRequests("Easy.", retry_after=7)


@bp.get("/big")
async def big() -> dict[str, str]:
    return {"text": "lyo " * 2000}


@bp.get("/ip")
async def ip() -> dict[str, str | None]:
    from quart import request

    return {"ip": request.remote_addr, "scheme": request.scheme}


@bp.get("/whoami")
@require()
async def whoami() -> dict[str, object]:
    identity = current_identity()
    return {"id": identity.id, "roles": sorted(identity.roles)}


@bp.get("/write")
@require("demo:write")
async def write() -> dict[str, bool]:
    return {"ok": True}


demo = make_plugin(
    "demo",
    blueprints=lambda kernel: [bp],
    permissions=lambda: {"demo:write": "Write demos"},
)
alice = Identity(id="alice", roles=frozenset({"learner"}), kind="user")
admin = Identity(id="root", permissions=frozenset({"*"}), kind="user")
tokens = token_plugin({"alice-token": alice, "admin-token": admin})


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [demo, tokens]


async def test_validation_errors_are_422_problems_naming_each_field(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.post("/api/demo/items", json={"name": "", "count": -1})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    body = await response.get_json()
    assert {e["pointer"] for e in body["errors"]} == {"/name", "/count"}
    assert body["instance"] == "/api/demo/items"
    assert body["request_id"] == response.headers["X-Request-ID"]
    for member in ("type", "title", "status", "detail"):
        assert member in body


async def test_malformed_json_is_a_problem_not_a_500(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.post(
        "/api/demo/items", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


async def test_json_body_that_is_not_utf8_is_a_400_problem(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.post(
        "/api/demo/items", data=b'{"name": "\x95"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "not valid JSON" in (await response.get_json())["detail"]


async def test_kernel_errors_carry_status_members_and_headers(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.post("/api/demo/items", json={"name": "taken", "count": 1})
    assert response.status_code == 409
    assert (await response.get_json())["field"] == "name"
    response = await lyo_client.get("/api/demo/slow-down")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/health/live", 405)],
)
async def test_routing_errors_are_problems(lyo_client, method: str, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.open(path, method=method)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["status"] == status


async def test_body_size_limit_is_413(lyo_settings: Settings) -> None:
    settings = lyo_settings.model_copy(update={"max_body_size": 100})
    app = create_app(settings, [demo], discover=False)
    async with app.test_app():
        response = await app.test_client().post(
            "/api/demo/items", json={"name": "x" * 500, "count": 1}
        )
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"


async def test_unexpected_errors_hide_internals_in_production(
    lyo_settings: Settings, production: Any
) -> None:
    staging = production(env="staging")  # staging is production unless told otherwise
    for settings, leaks in [(lyo_settings, True), (production(), False), (staging, False)]:
        app = create_app(settings, [demo], discover=False)
        async with app.test_app():
            response = await app.test_client().get("/api/demo/boom")
        assert response.status_code == 500
        body = await response.get_json()
        assert body["request_id"]
        assert ("secret internals" in body["detail"]) is leaks


async def test_request_id_is_echoed_when_sane(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    response = await lyo_client.get("/health/live", headers={"X-Request-ID": "bad id\x7f"})
    assert response.headers["X-Request-ID"] not in ("bad id\x7f", "")


async def test_security_headers_and_gzip(lyo_client) -> None:  # type: ignore[no-untyped-def]
    response = await lyo_client.get("/api/demo/big", headers={"Accept-Encoding": "gzip"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Encoding"] == "gzip"
    raw = await response.get_data()
    assert b"lyo lyo" in gzip.decompress(raw)
    plain = await lyo_client.get("/api/demo/big")
    assert "Content-Encoding" not in plain.headers


async def test_trusted_hosts(lyo_settings: Settings) -> None:
    settings = lyo_settings.model_copy(update={"trusted_hosts": ["api.example.com", "*.lyo.dev"]})
    app = create_app(settings, [demo], discover=False)
    async with app.test_app():
        client = app.test_client()
        bad = await client.get("/health/live", headers={"Host": "evil.test"})
        good = await client.get("/health/live", headers={"Host": "eu.lyo.dev"})
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"
    assert good.status_code == 200


async def test_cors_when_origins_are_configured(lyo_settings: Settings) -> None:
    settings = lyo_settings.model_copy(update={"cors_origins": ["https://app.example.com"]})
    app = create_app(settings, [demo], discover=False)
    async with app.test_app():
        client = app.test_client()
        allowed = await client.get("/health/live", headers={"Origin": "https://app.example.com"})
        other = await client.get("/health/live", headers={"Origin": "https://evil.test"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed.headers["Vary"] == "Origin"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_cors_preflight(lyo_settings: Settings) -> None:
    settings = lyo_settings.model_copy(
        update={"cors_origins": ["https://app.example.com"], "cors_credentials": True}
    )
    app = create_app(settings, [demo], discover=False)
    preflight = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with app.test_app():
        client = app.test_client()
        answer = await client.options("/api/demo/items", headers=preflight)
        foreign = await client.options(
            "/api/demo/items", headers={**preflight, "Origin": "https://evil.test"}
        )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in foreign.headers


async def test_require_answers_401_then_403_then_passes(lyo_client) -> None:  # type: ignore[no-untyped-def]
    assert (await lyo_client.get("/api/demo/whoami")).status_code == 401
    response = await lyo_client.get(
        "/api/demo/whoami", headers={"Authorization": "Bearer alice-token"}
    )
    assert await response.get_json() == {"id": "alice", "roles": ["learner"]}
    denied = await lyo_client.get(
        "/api/demo/write", headers={"Authorization": "Bearer alice-token"}
    )
    assert denied.status_code == 403
    assert (await denied.get_json())["permission"] == "demo:write"
    allowed = await lyo_client.get(
        "/api/demo/write", headers={"Authorization": "Bearer admin-token"}
    )
    assert allowed.status_code == 200
    unknown = await lyo_client.get("/api/demo/whoami", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    malformed = await lyo_client.get("/api/demo/whoami", headers={"Authorization": "Basic xx"})
    assert malformed.status_code == 401
    assert malformed.headers["WWW-Authenticate"] == "Bearer"


async def test_without_an_authenticate_plugin_everyone_is_anonymous(lyo_settings: Settings) -> None:
    app = create_app(lyo_settings, [demo], discover=False)
    async with app.test_app():
        response = await app.test_client().get(
            "/api/demo/whoami", headers={"Authorization": "Bearer alice-token"}
        )
    assert response.status_code == 401


async def test_openapi_documents_problems(lyo_client) -> None:  # type: ignore[no-untyped-def]
    spec = await (await lyo_client.get("/openapi.json")).get_json()
    assert "Problem" in spec["components"]["schemas"]
    create = spec["paths"]["/api/demo/items"]["post"]["responses"]
    assert "application/problem+json" in create["422"]["content"]
    assert "application/problem+json" in create["400"]["content"]  # a body that is not JSON
    assert "application/problem+json" in create["default"]["content"]
    assert "201" in create and "404" not in create
    delete = spec["paths"]["/api/demo/items/{name}"]["delete"]["responses"]
    assert {"404", "409"} <= set(delete)  # a path parameter; declared by the route
    assert "application/problem+json" in delete["409"]["content"]
    assert "400" not in delete and "401" not in delete
    guarded = spec["paths"]["/api/demo/write"]["get"]
    assert {"401", "403"} <= set(guarded["responses"])
    assert guarded["security"] == [{"bearer": []}]
    assert "bearer" in spec["components"]["securitySchemes"]


@pytest.mark.parametrize("env", ["staging", "production"])
async def test_docs_are_off_in_production(production: Any, env: str) -> None:
    settings = production(env=env)
    app = create_app(settings, [], discover=False)
    async with app.test_app():
        assert (await app.test_client().get("/openapi.json")).status_code == 404
        assert (await app.test_client().get("/docs")).status_code == 404
    assert production(env=env, docs=True).docs_enabled  # unless explicitly configured


def test_kernel_is_reachable_from_the_app(lyo_settings: Settings) -> None:
    app = create_app(lyo_settings, [demo], discover=False)
    assert isinstance(app.kernel, Kernel)
    assert app.extensions["lyo"] is app.kernel


async def test_client_address_behind_trusted_proxies(lyo_settings: Settings) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2", "X-Forwarded-Proto": "https, http"}
    # the first proxy saw https from the client, the second http from the first
    for hops, expected, scheme in [
        (0, "<local>", "http"),
        (1, "10.0.0.2", "http"),
        (2, "203.0.113.9", "https"),
    ]:
        app = create_app(
            lyo_settings.model_copy(update={"proxy_hops": hops}), [demo], discover=False
        )
        async with app.test_app():
            body = await (await app.test_client().get("/api/demo/ip", headers=headers)).get_json()
        assert (body["ip"], body["scheme"]) == (expected, scheme), hops


async def test_forwarded_for_without_proxy_hops_is_warned_about_once(
    lyo_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """With LYO_PROXY_HOPS=0 an X-Forwarded-For means a proxy nobody told the app about
    (every client then shares the proxy's address, and its rate limits): one warning
    per process, not one per request; none when hops are configured."""
    headers = {"X-Forwarded-For": "203.0.113.9"}
    for hops, warnings in [(0, 1), (1, 0)]:
        app = create_app(
            lyo_settings.model_copy(update={"proxy_hops": hops}), [demo], discover=False
        )
        capsys.readouterr()
        async with app.test_app():
            client = app.test_client()
            for _ in range(3):
                assert (await client.get("/api/demo/ip", headers=headers)).status_code == 200
            assert (await client.get("/api/demo/ip")).status_code == 200
        logged = capsys.readouterr().err
        assert logged.count("X-Forwarded-For received but LYO_PROXY_HOPS is 0") == warnings, (
            hops,
            logged,
        )
