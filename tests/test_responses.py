"""``kernel.json_response`` and ``kernel.responds``: a body encoded once, documented in
OpenAPI like ``@validate_response``, and validated against its model outside production
only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from quart import Blueprint, Response

from kernel import Settings, create_app, json_response, responds
from kernel.testing import lyo_command, make_plugin, temporary_database, test_redis_url

bp = Blueprint("encoded", __name__)
WHEN = datetime(2026, 12, 7, 18, 30, 5, 123456, tzinfo=UTC)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
API = "/api/encoded"


class Thing(BaseModel):
    id: uuid.UUID
    at: datetime
    tags: list[str]


@bp.get("/thing")
@responds(Thing)
async def thing() -> Response:
    return json_response({"id": ID, "at": WHEN, "tags": ["a"]})


@bp.get("/cached")
@responds(Thing)
async def cached() -> Response:
    return json_response(f'{{"id":"{ID}","at":"2026-12-07T18:30:05Z","tags":[]}}', encoded=True)


@bp.get("/drifted")
@responds(Thing)
async def drifted() -> Response:
    return json_response({"id": ID, "at": WHEN})  # "tags" forgotten


@bp.get("/model")
@responds(list[Thing], 201)
async def model() -> Response:
    return json_response([Thing(id=ID, at=WHEN, tags=[])], status=201, headers={"X-A": "1"})


plugin = make_plugin("encoded", blueprints=lambda kernel: [bp])


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [plugin]


async def test_values_are_encoded_as_pydantic_would(lyo_client: Any) -> None:
    response = await lyo_client.get(f"{API}/thing")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = await response.get_data(as_text=True)
    assert body == Thing(id=ID, at=WHEN, tags=["a"]).model_dump_json()
    answer = await lyo_client.get(f"{API}/model")
    assert answer.status_code == 201 and answer.headers["X-A"] == "1"
    assert await answer.get_json() == [
        {"id": str(ID), "at": "2026-12-07T18:30:05.123456Z", "tags": []}
    ]


async def test_encoded_text_is_sent_as_is(lyo_client: Any) -> None:
    response = await lyo_client.get(f"{API}/cached")
    assert (await response.get_json())["at"] == "2026-12-07T18:30:05Z"


async def test_a_drift_from_the_model_fails_outside_production(lyo_client: Any) -> None:
    response = await lyo_client.get(f"{API}/drifted")
    assert response.status_code == 500


@pytest.mark.skipif(test_redis_url() is None, reason="production runs on PostgreSQL and Redis")
async def test_production_sends_what_was_encoded() -> None:
    async with temporary_database() as url:
        await lyo_command(url, "migrate", plugins="")
        settings = Settings(
            env="production",
            database_url=url,
            redis_url=test_redis_url(),
            redis_prefix=f"lyo-test-{uuid.uuid4().hex[:12]}",
            secret_key="k" * 40,
        )
        app = create_app(settings, [plugin], discover=False)
        async with app.test_app():
            response = await app.test_client().get(f"{API}/drifted", headers={"Host": "localhost"})
    assert response.status_code == 200
    assert await response.get_json() == {"id": str(ID), "at": "2026-12-07T18:30:05.123456Z"}


async def test_the_model_is_in_the_openapi_document(lyo_client: Any) -> None:
    spec = await (await lyo_client.get("/openapi.json")).get_json()
    ok = spec["paths"][f"{API}/thing"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["title"] == "Thing" and "tags" in ok["schema"]["required"]
    created = spec["paths"][f"{API}/model"]["get"]["responses"]["201"]["content"][
        "application/json"
    ]
    assert created["schema"]["type"] == "array"
