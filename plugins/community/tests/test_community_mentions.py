"""``@mentions`` resolved to users through lyo-auth's ``users_by_name``: stored with the
post, carried in the created events, and announced (``community.mention_created.v1``,
a ``community.mention`` notice) only for visible content, never to the author, to a
user who blocked the author, or to one already told of the reply; an edit announces
only the users it adds; held posts announce on approval."""

from __future__ import annotations

from typing import Any

import pytest
from community_support import PUBLISHED, auth, published, tokens_plugin
from lyo_auth import plugin as auth_plugin
from lyo_community import plugin as community

from kernel import on
from kernel.testing import make_plugin

MENTIONED = "community.mention_created.v1"
PASSWORD = "correct-horse-battery-staple"


async def _record(envelope: Any) -> None:
    PUBLISHED.append(envelope)


mention_recorder = make_plugin(
    "mentionrecorder",
    event_handlers=lambda: [on(MENTIONED, id="mentionrecorder:m", durable=False)(_record)],
)


@pytest.fixture
def lyo_plugins() -> list[object]:
    from community_support import event_recorder

    # fixed tokens answer first (the moderator); everyone else signs in through lyo-auth
    return [tokens_plugin(), auth_plugin, community, event_recorder, mention_recorder]


class People:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.tokens: dict[str, str] = {}

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def sign_up(client: Any, people: People, key: str, display_name: str) -> None:
    email = f"{key}@example.com"
    made = await client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": display_name},
    )
    assert made.status_code == 201, await made.get_data(as_text=True)
    people.ids[key] = (await made.get_json())["id"]
    pair = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    people.tokens[key] = (await pair.get_json())["access_token"]


@pytest.fixture
async def people(lyo_client: Any) -> People:
    crowd = People()
    for key, name in (
        ("ada", "Ada Lovelace"),
        ("bob", "Bob"),
        ("carol", "Carol"),
        ("dan", "Dan"),
        ("sam1", "Sam"),
        ("sam2", "sam"),
    ):
        await sign_up(lyo_client, crowd, key, name)
    return crowd


async def start(client: Any, people: People, who: str, body: str) -> dict[str, Any]:
    response = await client.post(
        "/api/community/discussions",
        json={"title": "Knots", "body": body},
        headers=people.bearer(who),
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


async def answer(client: Any, people: People, who: str, discussion: str, body: str) -> Any:
    return await client.post(
        f"/api/community/discussions/{discussion}/replies",
        json={"body": body},
        headers=people.bearer(who),
    )


async def test_mentions_resolve_and_notify_the_right_people(
    lyo_client: Any, people: People
) -> None:
    ids = people.ids
    made = await start(
        lyo_client, people, "ada", "Hi @bob, @ADA_LOVELACE (me), @Sam (two of them) and @nobody."
    )
    assert made["mentions"] == ["bob", "ADA_LOVELACE", "Sam", "nobody"]
    assert made["mentioned_users"] == {"bob": ids["bob"], "ADA_LOVELACE": ids["ada"]}
    [created] = published("community.discussion_created.v1")
    assert created["mentioned_user_ids"] == [ids["bob"], ids["ada"]]
    # the author is not told of her own mention; the ambiguous "Sam" names nobody
    [mention] = published(MENTIONED)
    assert mention["recipient_ids"] == [ids["bob"]]
    assert (mention["author_id"], mention["discussion_id"], mention["reply_id"]) == (
        ids["ada"],
        made["id"],
        None,
    )

    # Carol blocked Ada: mentioned, stored, but never told
    blocked = await lyo_client.put(
        f"/api/community/blocks/{ids['ada']}", headers=people.bearer("carol")
    )
    assert blocked.status_code == 200
    PUBLISHED.clear()
    response = await answer(lyo_client, people, "ada", made["id"], "@Carol @Dan see this")
    assert response.status_code == 201
    reply = await response.get_json()
    [replied] = published("community.reply_created.v1")
    assert replied["mentioned_user_ids"] == [ids["carol"], ids["dan"]]
    [mention] = published(MENTIONED)
    assert mention["recipient_ids"] == [ids["dan"]] and mention["reply_id"] == reply["id"]

    # Bob answers Ada's discussion naming her: she hears of the reply once, not twice
    PUBLISHED.clear()
    assert (
        await answer(lyo_client, people, "bob", made["id"], "@Ada_Lovelace yes")
    ).status_code == 201
    [replied] = published("community.reply_created.v1")
    assert replied["recipient_ids"] == [ids["ada"]]
    assert published(MENTIONED) == []

    # an edit tells only the users it adds
    PUBLISHED.clear()
    edited = await lyo_client.patch(
        f"/api/community/replies/{reply['id']}",
        json={"body": "@Carol @Dan and now @bob"},
        headers=people.bearer("ada"),
    )
    assert edited.status_code == 200
    assert (await edited.get_json())["mentioned_users"]["bob"] == ids["bob"]
    [mention] = published(MENTIONED)
    assert mention["recipient_ids"] == [ids["bob"]]
    PUBLISHED.clear()
    await lyo_client.patch(
        f"/api/community/replies/{reply['id']}",
        json={"body": "@Carol @Dan and now @bob, again"},
        headers=people.bearer("ada"),
    )
    assert published(MENTIONED) == []


@pytest.mark.usefixtures("_held")
async def test_held_posts_mention_only_when_approved(lyo_client: Any, people: People) -> None:
    held = await start(lyo_client, people, "dan", "first post, hello @Bob")
    assert held["held"] is True and held["mentioned_users"] == {"Bob": people.ids["bob"]}
    assert published(MENTIONED) == []
    # edits while held announce nothing either
    await lyo_client.patch(
        f"/api/community/discussions/{held['id']}",
        json={"body": "first post, hello @Bob and @Carol"},
        headers=people.bearer("dan"),
    )
    assert published(MENTIONED) == []
    approved = await lyo_client.post(
        f"/api/community/discussions/{held['id']}/moderation",
        json={"action": "approve"},
        headers=auth("mod"),
    )
    assert approved.status_code == 200
    [mention] = published(MENTIONED)
    assert sorted(mention["recipient_ids"]) == sorted([people.ids["bob"], people.ids["carol"]])


async def test_hidden_content_mentions_nobody(lyo_client: Any, people: People) -> None:
    made = await start(lyo_client, people, "ada", "a thread")
    response = await answer(lyo_client, people, "bob", made["id"], "plain")
    reply = await response.get_json()
    await lyo_client.post(
        f"/api/community/replies/{reply['id']}/moderation",
        json={"action": "hide"},
        headers=auth("mod"),
    )
    PUBLISHED.clear()
    edited = await lyo_client.patch(
        f"/api/community/replies/{reply['id']}",
        json={"body": "now naming @Carol"},
        headers=people.bearer("bob"),
    )
    assert edited.status_code == 200
    assert published(MENTIONED) == []


@pytest.fixture
def _held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_COMMUNITY__HELD_FIRST_POSTS", "1")
