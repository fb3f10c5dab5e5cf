"""``GET /api/tasks``: the caller's own runs, newest first, by name and status, a page at
a time through cursors; never another identity's, not even an admin's view of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel import Identity
from kernel.data.models import TaskRun
from kernel.testing import token_plugin
from tests.notes import plugin as notes

ada = Identity(id="ada", kind="user")
root = Identity(id="root", kind="user", permissions=frozenset({"*"}))
users = token_plugin({"ada": ada, "root": root})


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes, users]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _runs() -> list[TaskRun]:
    """Seven of ada's runs a minute apart (two names, three statuses) and one of root's."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    made = []
    for n in range(7):
        run = await TaskRun.create(
            name="notes:write_note" if n % 2 else "notes:flaky",
            owner_id="ada",
            status=("queued", "succeeded", "failed")[n % 3],
        )
        run.created_at = start + timedelta(minutes=n)  # auto_now_add: set after creating
        await run.save(update_fields=["created_at"])
        made.append(run)
    await TaskRun.create(name="notes:write_note", owner_id="root", status="succeeded")
    return made


async def _all(client: Any, query: str, token: str = "ada") -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        url = f"/api/tasks?size=2&{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=bearer(token))
        assert response.status_code == 200, await response.get_data()
        page = await response.get_json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_lists_my_runs_newest_first_a_page_at_a_time(lyo_client: Any) -> None:
    runs = await _runs()
    mine = await _all(lyo_client, "")
    assert [r["id"] for r in mine] == [str(run.id) for run in reversed(runs)]
    named = await _all(lyo_client, "name=notes:write_note")
    assert [r["id"] for r in named] == [str(runs[n].id) for n in (5, 3, 1)]
    failed = await _all(lyo_client, "status=failed&name=notes:flaky")
    assert [r["id"] for r in failed] == [str(runs[2].id)]
    assert {r["status"] for r in failed} == {"failed"}


async def test_never_lists_anyone_elses_runs(lyo_client: Any) -> None:
    await _runs()
    theirs = await _all(lyo_client, "", token="root")  # ``*`` reads any run by id, lists its own
    assert len(theirs) == 1
    assert (await lyo_client.get("/api/tasks")).status_code == 401


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("status=done", "/query/status"),
        ("size=0", "/query/size"),
        ("cursor=nonsense", "/query/cursor"),
        ("owner=bob", "/query/owner"),
    ],
)
async def test_bad_filters_are_422(lyo_client: Any, query: str, pointer: str) -> None:
    response = await lyo_client.get(f"/api/tasks?{query}", headers=bearer("ada"))
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]
