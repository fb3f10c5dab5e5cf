"""Tables ``gamification_*``. The ledger (:class:`Entry`) is the source of truth: rows
are only ever added (a revocation is a negative entry), except when a user is erased.
Balances, boards and achievement progress are derived from it."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Entry(Model):
    """One award: ``points`` (negative for a revocation) to ``user_id`` by ``rule``.
    Unique per (rule, award_key), so no event, redelivered or repeated, awards twice."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(64)
    points = fields.IntField()
    reason = fields.CharField(200)
    rule = fields.CharField(64)
    award_key = fields.CharField(255)
    event_id = fields.UUIDField(null=True)  # the source event; None for grants
    scope = fields.CharField(64, null=True)  # a course id: per-course boards
    # the community post the award derives from: moderation withdraws and restores it
    content = fields.CharField(64, null=True)
    # a withdrawal (odd-numbered) or restoration (even) of this earlier entry
    reverses = fields.BigIntField(null=True)
    granted_by = fields.CharField(64, null=True)  # admin grants and revocations
    occurred_at = fields.DatetimeField()  # when it was earned: the boards' windows use it
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gamification_entry"
        unique_together = (("rule", "award_key"),)
        indexes = (("user_id", "id"), ("occurred_at",), ("content",), ("reverses",))


class Balance(Model):
    """A user's points: the sum of their ledger entries, kept in the same transaction."""

    user_id = fields.CharField(64, primary_key=True)
    points = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "gamification_balance"


class Progress(Model):
    """How many counted awards a user holds toward an achievement (withdrawals take one
    back), kept in the same statement as each entry; ``rebuild`` recomputes it."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(64)
    achievement = fields.CharField(64)
    count = fields.IntField(default=0)

    class Meta:
        table = "gamification_progress"
        unique_together = (("user_id", "achievement"),)


class Unlock(Model):
    """An achievement tier a user reached; once per (user, achievement, tier)."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(64)
    achievement = fields.CharField(64)
    tier = fields.IntField()  # the threshold reached (1, 5, 25...)
    unlocked_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gamification_unlock"
        unique_together = (("user_id", "achievement", "tier"),)


class Streak(Model):
    """Consecutive days (in the user's time zone) with a qualifying event."""

    user_id = fields.CharField(64, primary_key=True)
    current = fields.IntField(default=0)
    longest = fields.IntField(default=0)
    last_day = fields.DateField()
    timezone = fields.CharField(64, default="UTC")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "gamification_streak"


class Journal(Model):
    """The qualifying events received, kept beyond the outbox's retention: backfills
    of new or changed rules read them."""

    event_id = fields.UUIDField(primary_key=True)
    type = fields.CharField(128)
    user_id = fields.CharField(64, null=True)
    occurred_at = fields.DatetimeField()
    payload: dict[str, Any] = fields.JSONField()  # type: ignore[assignment]
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gamification_journal"
        indexes = (("type", "occurred_at"), ("user_id",))


class Exclusion(Model):
    """A user kept off the boards: deactivated or erased (``reason``)."""

    user_id = fields.CharField(64, primary_key=True)
    reason = fields.CharField(32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gamification_exclusion"


class Moderated(Model):
    """A community post hidden or deleted by moderation: awards deriving from it are
    withdrawn, and stay so (even one arriving late) until it is public again."""

    content = fields.CharField(64, primary_key=True)
    hidden = fields.BooleanField(default=False)
    deleted = fields.BooleanField(default=False)
    changed_at = fields.DatetimeField()  # the last moderation event applied (order check)

    class Meta:
        table = "gamification_moderated"
