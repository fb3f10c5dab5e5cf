"""The ``ai`` plugin's one table: which course each generation task saved.

Its primary key is the task id, and the row is written in the same transaction as the
course, so a redelivered task finds it and never creates a second course."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Generation(Model):
    task_id = fields.UUIDField(primary_key=True)
    owner_id = fields.CharField(max_length=64)
    course_id = fields.UUIDField()
    topic = fields.CharField(max_length=200)
    model = fields.CharField(max_length=300)
    tokens = fields.IntField(default=0)
    seconds = fields.FloatField(default=0.0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (("owner_id", "created_at"),)
