"""The kernel's own tables (Tortoise app ``kernel``): task runs, the event outbox,
handled events and dead letters. Models import nothing from the web layer."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class TaskRun(Model):
    """One task: who started it, its status and progress, its result or problem."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, db_index=True)
    kind = fields.CharField(max_length=100, default="task")
    queue = fields.CharField(max_length=20, default="default")
    owner_id = fields.CharField(max_length=100, null=True)
    request_id = fields.CharField(max_length=128, null=True)
    status = fields.CharField(max_length=20, default="queued", db_index=True)
    percent = fields.FloatField(default=0)
    message = fields.TextField(null=True)
    progress: Any = fields.JSONField(null=True)
    result: Any = fields.JSONField(null=True)
    problem: Any = fields.JSONField(null=True)
    attempts = fields.IntField(default=0)
    cancel_requested = fields.BooleanField(default=False)
    lease_until = fields.DatetimeField(null=True)
    #: What the message carries (``{"lyo": meta, "kwargs": ...}``), so a run whose
    #: message never left can be sent again (the workers' reaper).
    args: Any = fields.JSONField(null=True)
    #: When the broker accepted the run's message; null: not (yet) sent.
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        # ``GET /api/tasks``: one owner's runs, newest first
        indexes = (("owner_id", "created_at"),)


class OutboxEvent(Model):
    """An event written in the transaction that produced it; the relay delivers it."""

    id = fields.UUIDField(primary_key=True)
    type = fields.CharField(max_length=200, db_index=True)
    occurred_at = fields.DatetimeField()
    request_id = fields.CharField(max_length=128, null=True)
    payload: Any = fields.JSONField()
    dispatched_at = fields.DatetimeField(null=True, db_index=True)


class HandledEvent(Model):
    """(handler, event) pairs already handled: durable handlers run their effect once."""

    id = fields.BigIntField(primary_key=True)
    handler_id = fields.CharField(max_length=200)
    event_id = fields.UUIDField()
    handled_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("handler_id", "event_id"),)


class DeadLetter(Model):
    """A delivery that failed its last try, kept for ``lyo events replay``."""

    id = fields.BigIntField(primary_key=True)
    handler_id = fields.CharField(max_length=200, db_index=True)
    event_id = fields.UUIDField()
    type = fields.CharField(max_length=200)
    envelope: Any = fields.JSONField()
    error = fields.TextField()
    attempts = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    replayed_at = fields.DatetimeField(null=True)
