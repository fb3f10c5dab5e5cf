"""Rules as data (validated, errors naming the rule), achievements with tiers and hidden
ones, grants and revocations, backfill from the journal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from gam_support import ADA, BOB, ReplyCreated, auth, course_done, envelope, lesson_done, recorder
from lyo_gamification import engine, upkeep
from lyo_gamification.models import Balance, Entry, Unlock
from lyo_gamification.rules import RuleSet, install

from kernel import ConfigError, create_app, transaction


def rules_with(**extra: Any) -> dict[str, Any]:
    data = json.loads((Path(engine.__file__).parent / "rules.json").read_text())
    for key, items in extra.items():
        data[key] = data[key] + items
    return data


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": "oops", "event": "nothing.happened.v1"}, "rule 'oops'"),
        ({"id": "oops", "event": "learning.enrolled.v1", "points": "many"}, "rule 'oops': points"),
        ({"id": "oops", "event": "learning.enrolled.v1", "when": {"x": {"near": 1}}}, "operators"),
        ({"id": "oops", "event": "learning.enrolled.v1", "surprise": 1}, "surprise"),
    ],
)
def test_rule_errors_name_the_rule(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RuleSet.parse(rules_with(rules=[bad]), "test")


def test_achievement_errors_name_the_achievement() -> None:
    bad = {"id": "nope", "name": "Nope", "rules": ["missing"], "tiers": [1]}
    with pytest.raises(ConfigError, match="achievement 'nope' counts unknown rule"):
        RuleSet.parse(rules_with(achievements=[bad]), "test")
    tiers = {"id": "nope", "name": "Nope", "rules": ["enrolled"], "tiers": [5, 1]}
    with pytest.raises(ConfigError, match=r"achievement 'nope'.*ascending"):
        RuleSet.parse(rules_with(achievements=[tiers]), "test")


async def test_a_bad_rules_file_fails_the_plugin_at_start(
    lyo_settings: Any, lyo_plugins: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules_with(rules=[{"id": "broken", "event": "x.y.v1"}])))
    monkeypatch.setenv("LYO_GAMIFICATION__RULES_FILE", str(path))
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with app.test_app():
        plugin = app.kernel.plugins["gamification"]
        assert plugin.state == "failed" and "rule 'broken'" in str(plugin.error)


def test_conditions() -> None:
    rules = RuleSet.parse(
        rules_with(
            rules=[
                {
                    "id": "long_lesson",
                    "event": "learning.lesson_completed.v1",
                    "key": ["lesson_id"],
                    "points": 5,
                    "when": {"seconds_spent": {"gte": 600}},
                },
                {
                    "id": "one_course",
                    "event": "learning.lesson_completed.v1",
                    "key": ["lesson_id"],
                    "when": {"course_id": "c1", "seconds_spent": {"in": [1, 2]}},
                },
            ]
        ),
        "test",
    )
    long = rules.rules["long_lesson"]
    assert long.matches({"seconds_spent": 600}) and not long.matches({"seconds_spent": 599})
    assert not long.matches({"seconds_spent": "a lot"}) and not long.matches({})
    one = rules.rules["one_course"]
    assert one.matches({"course_id": "c1", "seconds_spent": 2})
    assert not one.matches({"course_id": "c2", "seconds_spent": 2})


async def test_tiers_unlock_once_each(lyo_app: Any, lyo_client: Any) -> None:
    for _ in range(6):
        course = uuid.uuid4()
        async with transaction():
            await engine.handle(envelope(course_done(ADA, course)))
            await engine.handle(envelope(course_done(ADA, course)))  # completed again
    tiers = sorted(
        await Unlock.filter(user_id=ADA, achievement="courses").values_list("tier", flat=True)
    )
    assert tiers == [1, 5]
    unlocked = [e.payload for e in recorder.PUBLISHED if e.type.endswith("achievement_unlocked.v1")]
    assert [(u["achievement"], u["tier"]) for u in unlocked] == [("courses", 1), ("courses", 5)]
    answer = await lyo_client.get("/api/gamification/me/achievements", headers=auth("ada"))
    mine = {a["id"]: a for a in (await answer.get_json())["items"]}
    assert mine["courses"]["progress"] == 6 and mine["courses"]["next_tier"] == 25
    assert [t["unlocked_at"] is not None for t in mine["courses"]["tiers"]] == [True, True, False]
    assert mine["lessons"]["progress"] == 0 and mine["lessons"]["next_tier"] == 1


async def test_hidden_achievements_show_once_earned(lyo_app: Any, lyo_client: Any) -> None:
    async def catalogue(token: str) -> set[str]:
        answer = await lyo_client.get("/api/gamification/achievements", headers=auth(token))
        return {a["id"] for a in (await answer.get_json())["items"]}

    assert "conversationalist" not in await catalogue("bob")
    async with transaction():
        for _ in range(50):
            reply = ReplyCreated(reply_id=uuid.uuid4(), discussion_id=uuid.uuid4(), author_id=BOB)
            await engine.handle(envelope(reply))
    assert "conversationalist" in await catalogue("bob")
    assert "conversationalist" not in await catalogue("ada")
    anonymous = await lyo_client.get("/api/gamification/achievements")
    assert anonymous.status_code == 200


async def test_grants_and_revocations(lyo_app: Any, lyo_client: Any) -> None:
    url = "/api/gamification/admin/grants"
    body = {"user_id": BOB, "points": 30, "reason": "Helped at the meetup"}
    answer = await lyo_client.post(url, json=body, headers=auth("admin"))
    granted = await answer.get_json()
    assert answer.status_code == 201, granted
    assert granted["balance"] == 30 and granted["rule"] == "admin" and granted["granted_by"]
    answer = await lyo_client.post(
        url, json={**body, "points": -10, "reason": "Oops"}, headers=auth("admin")
    )
    assert (await answer.get_json())["balance"] == 20
    assert await Entry.filter(user_id=BOB).count() == 2  # entries, never edits
    assert (await lyo_client.post(url, json=body, headers=auth("ada"))).status_code == 403
    zero = await lyo_client.post(url, json={**body, "points": 0}, headers=auth("admin"))
    assert zero.status_code == 422 and "points" in str(await zero.get_json())
    me = await lyo_client.get("/api/gamification/me", headers=auth("bob"))
    assert (await me.get_json())["points"] == 20


async def test_backfill_applies_a_new_rule_to_past_events_once(lyo_app: Any) -> None:
    async with transaction():
        for i in range(7):
            await engine.handle(envelope(lesson_done(ADA if i % 2 else BOB)))
    bonus = {
        "id": "lesson_bonus",
        "event": "learning.lesson_completed.v1",
        "key": ["lesson_id"],
        "points": 1,
    }
    install(RuleSet.parse(rules_with(rules=[bonus]), "test"))
    seen: list[int] = []
    assert await upkeep.backfill("lesson_bonus", progress=seen.append) == (7, 7)
    assert sum(seen) == 7
    assert await upkeep.backfill("lesson_bonus") == (7, 0)  # idempotent
    assert (await Balance.get(user_id=ADA)).points == 3 * 11
    assert (await Balance.get(user_id=BOB)).points == 4 * 11
    with pytest.raises(ConfigError, match="no rule 'nope'"):
        await upkeep.backfill("nope")
