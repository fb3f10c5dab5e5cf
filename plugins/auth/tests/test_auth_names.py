"""``lyo_auth.api.users_by_name``: ``@mention`` handles to users, case-insensitively, with
``_`` for a space; a name shared by several active accounts resolves to nobody."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from authhelpers import register
from lyo_auth import accounts, api

from kernel import testing as lyo_testing


async def test_names_resolve_to_exactly_one_active_account(lyo_app: Any, lyo_client: Any) -> None:
    ada = await register(lyo_client, "ada@example.com", name="Ada Lovelace")
    grace = await register(lyo_client, "grace@example.com", name="grace")
    await register(lyo_client, "sam1@example.com", name="Sam")
    await register(lyo_client, "sam2@example.com", name="sam")
    gone = await register(lyo_client, "lin@example.com", name="Lin")
    other_lin = await register(lyo_client, "lin2@example.com", name="Lin")
    lyo_app.kernel.activate()
    await accounts.deactivate(uuid.UUID(gone["id"]), by=None)

    found = await api.users_by_name(
        ["ada_lovelace", "GRACE", "Sam", "lin", "nobody", "Grace", " ", ""]
    )

    assert {name: str(info.id) for name, info in found.items()} == {
        "ada_lovelace": ada["id"],
        "GRACE": grace["id"],  # keyed by the name as given
        "Grace": grace["id"],
        # a deactivated namesake neither matches nor makes "lin" ambiguous
        "lin": other_lin["id"],
    }
    assert "Sam" not in found  # two active "sam"s: ambiguous, nobody is guessed
    assert found["GRACE"].display_name == "grace" and found["GRACE"].roles == ("learner",)
    assert await api.users_by_name([]) == {}


async def test_an_underscore_name_and_a_spaced_name_are_ambiguous(
    lyo_app: Any, lyo_client: Any
) -> None:
    spaced = await register(lyo_client, "a@example.com", name="kim lee")
    await register(lyo_client, "b@example.com", name="Kim_Lee")
    lyo_app.kernel.activate()
    assert await api.users_by_name(["kim_lee", "KIM_LEE"]) == {}
    # a name with the space itself (not a mention) is not ambiguous
    assert [str(i.id) for i in (await api.users_by_name(["Kim Lee"])).values()] == [spaced["id"]]


@pytest.mark.skipif(
    lyo_testing.test_database_kind() != "postgres",
    reason="migrations target PostgreSQL (LYO_TEST_DATABASE)",
)
async def test_the_name_index_is_used_and_its_migration_goes_down_and_up(lyo_app: Any) -> None:
    from kernel.data import migrations

    kernel = lyo_app.kernel
    connection = kernel.db.connection()
    # a few thousand rows, so the planner prefers the index to a scan
    await connection.execute_query(
        'INSERT INTO "auth_user" (id, email, password_hash, display_name, bio, timezone, '
        "locale, preferences, is_active, created_at, updated_at) SELECT gen_random_uuid(), "
        "'u' || n || '@example.com', 'x', 'User ' || n, '', 'UTC', 'en', '{}', true, now(), "
        "now() FROM generate_series(1, 5000) n"
    )
    await connection.execute_query('ANALYZE "auth_user"')
    _, plan = await connection.execute_query(
        "EXPLAIN SELECT id FROM auth_user WHERE LOWER(display_name) IN ('user 7', 'user 8')"
    )
    assert "idx_auth_user_name_lower" in " ".join(row["QUERY PLAN"] for row in plan)

    index = "SELECT to_regclass('idx_auth_user_name_lower') AS i"
    await migrations.downgrade(kernel, "auth", -1)  # the name index only
    assert (await connection.execute_query(index))[1][0]["i"] is None
    await migrations.upgrade(kernel)
    assert (await connection.execute_query(index))[1][0]["i"] is not None
    assert [i.display_name for i in (await api.users_by_name(["USER_7"])).values()] == ["User 7"]
