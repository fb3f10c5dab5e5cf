"""Hostile input on the anonymous sign-in routes is refused by the kernel: a problem
naming the fault, never a 500 nor the database's own words."""

from __future__ import annotations

from typing import Any

import pytest

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("depth", [65, 100_000])
async def test_deeply_nested_json_on_login_is_a_400_problem(lyo_client: Any, depth: int) -> None:
    body = '{"email": "a@example.com", "password": ' + "[" * depth + "]" * depth + "}"
    response = await lyo_client.post("/api/auth/login", data=body, headers=JSON)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


async def test_nul_in_a_login_field_is_a_422_naming_the_field(lyo_client: Any) -> None:
    body = '{"email": "a@example.com", "password": "correct\\u0000horse battery"}'
    response = await lyo_client.post("/api/auth/login", data=body, headers=JSON)
    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"][0]["pointer"] == "/password"
