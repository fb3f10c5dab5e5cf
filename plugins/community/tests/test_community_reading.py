"""The read paths: pinned discussions first in every sort and across cursor pages, and
the read cache (first pages of listings and threads) following every kind of write,
with the cache on and off; the answers match their documented models."""

from __future__ import annotations

from typing import Any

import pytest
from community_support import auth
from lyo_community.schemas import DiscussionDetail, DiscussionOut

from kernel import CursorPage, Page

COURSE = "22222222-2222-2222-2222-222222222222"


@pytest.fixture(params=["cached", "uncached"])
def cache_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "uncached":
        monkeypatch.setenv("LYO_COMMUNITY__READ_CACHE_TTL", "0")
    return str(request.param)


async def expect_cache(mode: str) -> None:
    from lyo_community.settings import plugin

    assert (plugin.settings.read_cache_ttl > 0) == (mode == "cached")


async def start(client: Any, title: str, token: str = "ada", **fields: Any) -> dict[str, Any]:
    body = {"title": title, "body": f"about {title}", **fields}
    response = await client.post("/api/community/discussions", json=body, headers=auth(token))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


async def moderate(client: Any, kind: str, target: str, action: str) -> None:
    response = await client.post(
        f"/api/community/{kind}/{target}/moderation", json={"action": action}, headers=auth("mod")
    )
    assert response.status_code == 200, await response.get_data(as_text=True)


async def titles(client: Any, query: str, token: str | None = None, size: int = 2) -> list[str]:
    """Every title of a listing, walking its numbered pages of ``size``; each page's
    ``total`` and ``pages`` agree with what the walk finds."""
    seen: list[str] = []
    headers = auth(token) if token else {}
    number = 1
    while True:
        url = f"/api/community/discussions?size={size}&page={number}&{query}"
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, await response.get_data(as_text=True)
        page = await response.get_json()
        Page[DiscussionOut].model_validate(page)
        assert (page["page"], page["size"]) == (number, size)
        seen += [d["title"] for d in page["items"]]
        if number >= page["pages"]:
            assert page["total"] == len(seen) and page["pages"] == -(-len(seen) // size)
            return seen
        assert len(page["items"]) == size
        number += 1


async def feed_titles(
    client: Any, course: str, query: str = "", token: str | None = None, size: int = 2
) -> list[str]:
    """Every title of a course's feed, walking its cursor pages of ``size``."""
    seen: list[str] = []
    cursor = None
    headers = auth(token) if token else {}
    while True:
        url = f"/api/community/courses/{course}/discussions?size={size}&{query}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, await response.get_data(as_text=True)
        page = await response.get_json()
        CursorPage[DiscussionOut].model_validate(page)
        seen += [d["title"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_pinned_discussions_come_first_in_every_sort(
    cache_mode: str, lyo_client: Any
) -> None:
    await expect_cache(cache_mode)
    made = {n: await start(lyo_client, f"D{n}", course_id=COURSE) for n in range(6)}
    for n in (1, 3):
        await moderate(lyo_client, "discussions", made[n]["id"], "pin")
    # reactions: D4 three, D0 two, D3 and D5 one (no ties); D2 gets the latest reply
    reactions = [("bob", 4), ("carol", 4), ("ada", 4), ("bob", 0), ("carol", 0)]
    for token, n in [*reactions, ("carol", 3), ("bob", 5)]:
        await lyo_client.put(
            f"/api/community/discussions/{made[n]['id']}/reactions/like", headers=auth(token)
        )
    await lyo_client.post(
        f"/api/community/discussions/{made[2]['id']}/replies",
        json={"body": "bump"},
        headers=auth("bob"),
    )
    expected = {
        "recent": ["D3", "D1", "D5", "D4", "D2", "D0"],
        "active": ["D3", "D1", "D2", "D5", "D4", "D0"],
        "top": ["D3", "D1", "D4", "D0", "D5", "D2"],
    }
    for sort, order in expected.items():
        for size in (1, 2, 4, 20):  # pages and cursors that cross from pinned to the rest
            assert await titles(lyo_client, f"sort={sort}", size=size) == order, (sort, size)
            feed = await feed_titles(lyo_client, COURSE, f"sort={sort}", size=size)
            assert feed == order, (sort, size)
        assert await titles(lyo_client, f"sort={sort}&course_id={COURSE}") == order
    assert await titles(lyo_client, "pinned=true") == ["D3", "D1"]
    assert await feed_titles(lyo_client, COURSE, "pinned=true") == ["D3", "D1"]
    await moderate(lyo_client, "discussions", made[3]["id"], "unpin")
    assert await titles(lyo_client, "sort=recent") == ["D1", "D5", "D4", "D3", "D2", "D0"]
    unpinned = await feed_titles(lyo_client, COURSE, "sort=recent", size=4)
    assert unpinned == ["D1", "D5", "D4", "D3", "D2", "D0"]


async def test_reads_follow_every_write(cache_mode: str, lyo_client: Any) -> None:
    await expect_cache(cache_mode)
    made = await start(lyo_client, "Thread", course_id=COURSE)
    url = f"/api/community/discussions/{made['id']}"

    async def read(token: str | None = None) -> dict[str, Any]:
        response = await lyo_client.get(url, headers=auth(token) if token else {})
        assert response.status_code == 200, await response.get_data(as_text=True)
        body = await response.get_json()
        DiscussionDetail.model_validate(body)
        return body  # type: ignore[no-any-return]

    def bodies(thread: dict[str, Any]) -> list[str]:
        return [r["body"] for r in thread["replies"]["items"]]

    async def listings(token: str | None = None) -> list[str]:
        """The listing (pages of one, so later pages use the kept total) and the
        course's feed, which must agree."""
        listed = await titles(lyo_client, "", token=token, size=1)
        assert await feed_titles(lyo_client, COURSE, token=token, size=1) == listed
        return listed

    assert bodies(await read()) == []
    assert await listings() == ["Thread"]
    first = await (
        await lyo_client.post(f"{url}/replies", json={"body": "one"}, headers=auth("bob"))
    ).get_json()
    assert bodies(await read()) == ["one"] and (await read())["reply_count"] == 1
    await lyo_client.put(f"{url}/reactions/like", headers=auth("carol"))
    await lyo_client.put(
        f"/api/community/replies/{first['id']}/reactions/thanks", headers=auth("ada")
    )
    thread = await read("carol")
    assert thread["reactions"] == {"counts": {"like": 1}, "mine": ["like"]}
    assert (await read())["reactions"] == {"counts": {"like": 1}, "mine": []}
    assert thread["replies"]["items"][0]["reactions"] == {"thanks": 1}
    await lyo_client.put(f"{url}/subscription", headers=auth("carol"))
    assert (await read("carol"))["subscribed"] is True and (await read("bob"))[
        "subscribed"
    ] is False

    await lyo_client.patch(
        f"/api/community/replies/{first['id']}", json={"body": "one, edited"}, headers=auth("bob")
    )
    assert bodies(await read()) == ["one, edited"]
    await moderate(lyo_client, "replies", first["id"], "hide")
    assert bodies(await read()) == [] and (await read())["reply_count"] == 0
    # its author and moderators still see it
    [own] = (await read("bob"))["replies"]["items"]
    assert own["hidden"] is True and own["body"] == "one, edited"
    assert bodies(await read("mod")) == ["one, edited"]
    assert bodies(await read("carol")) == []
    await moderate(lyo_client, "replies", first["id"], "unhide")
    assert bodies(await read()) == ["one, edited"]
    await lyo_client.delete(f"/api/community/replies/{first['id']}", headers=auth("bob"))
    [gone] = (await read())["replies"]["items"]
    assert gone["deleted"] is True and gone["body"] == ""

    await lyo_client.patch(url, json={"title": "Thread, renamed"}, headers=auth("ada"))
    assert (await read())["title"] == "Thread, renamed"
    assert await listings() == ["Thread, renamed"]
    await moderate(lyo_client, "discussions", made["id"], "lock")
    assert (await read())["locked"] is True
    second = await start(lyo_client, "Second", course_id=COURSE)
    assert await listings() == ["Second", "Thread, renamed"]
    await moderate(lyo_client, "discussions", made["id"], "hide")
    assert (await lyo_client.get(url)).status_code == 404
    # totals too: a hidden discussion counts for nobody but its author and moderators
    assert await listings() == ["Second"]
    assert await listings("bob") == ["Second"]
    assert await listings("ada") == ["Second", "Thread, renamed"]
    assert await listings("mod") == ["Second", "Thread, renamed"]
    assert (await read("ada"))["hidden"] is True
    await lyo_client.delete(f"/api/community/discussions/{second['id']}", headers=auth("ada"))
    assert await listings() == []


async def test_views_show_in_cached_threads_and_flush(lyo_client: Any, lyo_app: Any) -> None:
    from lyo_community import views

    made = await start(lyo_client, "Viewed")
    url = f"/api/community/discussions/{made['id']}"
    for token in ("bob", "carol", "bob"):
        await lyo_client.get(url, headers=auth(token))
    assert (await (await lyo_client.get(url)).get_json())["view_count"] == 2
    lyo_app.kernel.activate()
    assert await views.flush() == 1
    assert (await (await lyo_client.get(url)).get_json())["view_count"] == 2
    assert (await titles(lyo_client, "")) == ["Viewed"]
    listed = await (await lyo_client.get("/api/community/discussions")).get_json()
    assert listed["items"][0]["view_count"] == 2


@pytest.fixture
def long_local_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_COMMUNITY__READ_CACHE_LOCAL_TTL", "3600")


async def test_writes_of_other_processes_reach_kept_pages(
    long_local_ttl: None, lyo_client: Any, lyo_app: Any
) -> None:
    """Another process's write (its generation bumped in the shared cache, announced on
    the hub) drops the generations this process keeps; until the announcement arrives
    (``READ_CACHE_LOCAL_TTL``, long here) this process serves what it kept."""
    import asyncio

    from lyo_community import readcache
    from lyo_community.models import Discussion
    from lyo_community.settings import plugin

    made = await start(lyo_client, "Before", course_id=COURSE)
    assert await titles(lyo_client, "") == ["Before"]
    assert await feed_titles(lyo_client, COURSE) == ["Before"]
    lyo_app.kernel.activate()
    assert plugin.settings.read_cache_local_ttl == 3600
    # what the other process's write does: the row, then the shared generation
    await Discussion.filter(id=made["id"]).update(title="After")
    await plugin.cache.incr(readcache.LISTINGS, ttl=None)
    assert await titles(lyo_client, "") == ["Before"]
    # ... then its announcement, which the hub delivers (through Redis, when there is one)
    await lyo_app.kernel.hub.publish(readcache.TOPIC, {"keys": [readcache.LISTINGS]})
    for _ in range(200):
        if await titles(lyo_client, "") == ["After"]:
            break
        await asyncio.sleep(0.05)
    assert await titles(lyo_client, "") == ["After"]
    assert await feed_titles(lyo_client, COURSE) == ["After"]
