"""Rules as data: which events award points, count toward achievements or extend
streaks. The shipped ``rules.json`` is replaced by ``LYO_GAMIFICATION__RULES_FILE``;
either is validated at start-up, and an error names the rule or achievement at fault.

A rule::

    {"id": "course_completed", "event": "learning.course_completed.v1",
     "user": "user_id", "key": ["course_id"], "points": 50, "scope": "course_id",
     "streak": true, "when": {"seconds_spent": {"gte": 60}}}

- ``user``: the payload field naming the user awarded.
- ``not_by``: a payload field naming who caused the event: no award when it names the
  user awarded (nobody earns points reacting to their own post).
- ``key``: payload fields naming what is rewarded: one award per (rule, user, key), so a
  learner completing a course twice (after re-enrolling) is awarded once. Empty (the
  default): one award per event.
- ``when``: conditions on payload fields, a value (equality) or operators ``eq ne gt
  gte lt lte in``; all must hold.
- ``scope``: a payload field holding a course id, for per-course leaderboards.
- ``content``: a payload field naming the community post the award derives from: when
  moderation hides or deletes it, the award is withdrawn (and restored on unhiding).
- ``streak``: the event counts as the user's activity of its day.

An achievement counts awards of ``rules`` (or, with ``streak``, the longest streak) and
unlocks each of its ``tiers`` once; ``hidden`` ones are listed only once earned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel import ConfigError

#: The event types this plugin subscribes to; a rule may name only these.
CONSUMED = (
    "auth.user_registered.v1",
    "learning.enrolled.v1",
    "learning.lesson_completed.v1",
    "learning.course_completed.v1",
    "ai.course_generated.v1",
    "community.discussion_created.v1",
    "community.reply_created.v1",
    "community.reaction_added.v1",
)

_ID = r"^[a-z][a-z0-9_]{0,63}$"
#: What a user id or a scope may be: usable in websocket topics (``user:{id}``).
USER_ID = r"^[A-Za-z0-9_.:/@+=#-]{1,64}$"
_SAFE = re.compile(USER_ID, re.ASCII)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "in": lambda a, b: a in b,
}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    event: str
    reason: str = ""
    user: str = "user_id"
    not_by: str | None = None  # a payload field: no award when it names the user
    key: tuple[str, ...] = ()
    when: dict[str, Any] = Field(default_factory=dict)
    points: int = Field(0, ge=-100_000, le=100_000)
    scope: str | None = None
    content: str | None = None  # a payload field naming the community post rewarded
    streak: bool = False
    at: str | None = None  # a payload datetime field; default: the event's occurred_at

    @field_validator("event")
    @classmethod
    def _consumed(cls, value: str) -> str:
        if value not in CONSUMED:
            raise ValueError(
                f"{value!r} is not an event this plugin receives: {', '.join(CONSUMED)}"
            )
        return value

    @field_validator("when")
    @classmethod
    def _conditions(cls, value: dict[str, Any]) -> dict[str, Any]:
        for field, condition in value.items():
            if isinstance(condition, dict):
                unknown = set(condition) - set(_OPERATORS)
                if unknown or not condition:
                    raise ValueError(
                        f"condition on {field!r}: operators are {', '.join(_OPERATORS)}"
                    )
        return value

    def matches(self, payload: Mapping[str, Any]) -> bool:
        for field, condition in self.when.items():
            value = payload.get(field)
            if isinstance(condition, dict):
                try:
                    if not all(_OPERATORS[op](value, arg) for op, arg in condition.items()):
                        return False
                except TypeError:  # a payload value of another type: not a match
                    return False
            elif value != condition:
                return False
        return True

    def subject(self, payload: Mapping[str, Any]) -> str | None:
        value = payload.get(self.user)
        if value is None or not _SAFE.match(str(value)):
            return None  # no user, or not an id a user could have
        if self.not_by and str(payload.get(self.not_by)) == str(value):
            return None  # the user's own doing: nothing to award
        return str(value)

    def award_key(self, user_id: str, payload: Mapping[str, Any], event_id: UUID) -> str:
        parts = [str(payload.get(field)) for field in self.key] if self.key else [str(event_id)]
        return ":".join([user_id, *parts])[:255]

    def scope_of(self, payload: Mapping[str, Any]) -> str | None:
        return _id_in(payload, self.scope)

    def content_of(self, payload: Mapping[str, Any]) -> str | None:
        return _id_in(payload, self.content)

    def time_of(self, payload: Mapping[str, Any], occurred_at: datetime) -> datetime:
        if self.at and isinstance(payload.get(self.at), str):
            try:
                at = datetime.fromisoformat(payload[self.at])
            except ValueError:
                return occurred_at
            return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # naive: UTC
        return occurred_at

    @property
    def label(self) -> str:
        return self.reason or self.id.replace("_", " ")


def _id_in(payload: Mapping[str, Any], field: str | None) -> str | None:
    value = payload.get(field) if field else None
    if value is None or not _SAFE.match(str(value)):
        return None
    return str(value)


class Achievement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    rules: tuple[str, ...] = ()
    streak: bool = False
    tiers: tuple[int, ...] = Field(min_length=1)
    hidden: bool = False

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if value[0] < 1 or any(b <= a for a, b in pairwise(value)):
            raise ValueError("tiers must be positive and strictly ascending")
        return value


class RuleSet:
    """Validated rules and achievements, indexed for the engine."""

    def __init__(self, rules: list[Rule], achievements: list[Achievement]) -> None:
        self.rules = {rule.id: rule for rule in rules}
        self.achievements = {a.id: a for a in achievements}
        self.by_event: dict[str, list[Rule]] = {}
        for rule in rules:
            self.by_event.setdefault(rule.event, []).append(rule)
        self.counting: dict[str, list[Achievement]] = {}  # rule id -> achievements
        for achievement in achievements:
            for rule_id in achievement.rules:
                self.counting.setdefault(rule_id, []).append(achievement)
        self.streaks = [a for a in achievements if a.streak]

    @classmethod
    def parse(cls, data: Any, source: str) -> RuleSet:
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ConfigError(f"{source}: expected an object with a list of 'rules'")
        rules = [_validate(Rule, raw, "rule", source) for raw in data["rules"]]
        achievements = [
            _validate(Achievement, raw, "achievement", source)
            for raw in data.get("achievements", [])
        ]
        for kind, items in (("rule", rules), ("achievement", achievements)):
            ids_seen: set[str] = set()
            for item in items:
                if item.id in ids_seen:
                    raise ConfigError(f"{source}: {kind} {item.id!r} is defined twice")
                ids_seen.add(item.id)
        ids = {rule.id for rule in rules}
        for achievement in achievements:
            unknown = [r for r in achievement.rules if r not in ids]
            if unknown:
                raise ConfigError(
                    f"{source}: achievement {achievement.id!r} counts unknown rule(s) {unknown}"
                )
            if not achievement.rules and not achievement.streak:
                raise ConfigError(
                    f"{source}: achievement {achievement.id!r} counts no rule and no streak"
                )
        return cls(rules, achievements)

    @classmethod
    def load(cls, path: Path | None = None) -> RuleSet:
        """The rules of ``path``, or the shipped ones."""
        if path is None:
            text = resources.files(__package__).joinpath("rules.json").read_text()
            source = "lyo_gamification/rules.json"
        else:
            try:
                text = Path(path).read_text()
            except OSError as error:
                raise ConfigError(
                    f"LYO_GAMIFICATION__RULES_FILE: cannot read {path}: {error}"
                ) from None
            source = str(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not JSON: {error}") from None
        return cls.parse(data, source)


def _validate(model: type[Rule] | type[Achievement], raw: Any, kind: str, source: str) -> Any:
    name = raw.get("id") if isinstance(raw, dict) else None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"{source}: {kind} {name!r}: {problems}") from None


_current: list[RuleSet] = []


def current_rules() -> RuleSet:
    """The rules loaded at start-up (the shipped ones before any start-up)."""
    if not _current:
        _current.append(RuleSet.load())
    return _current[-1]


def install(rules: RuleSet) -> None:
    _current.clear()
    _current.append(rules)
