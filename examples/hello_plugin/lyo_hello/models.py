"""The plugin's table, ``hello_cheer``: created by the migration in
``migrations/hello/`` on PostgreSQL, from the models on SQLite."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Cheer(Model):
    """A cheer for a user: for a completed lesson, or from someone allowed to cheer."""

    id = fields.IntField(primary_key=True)
    user_id = fields.CharField(max_length=128, db_index=True)
    message = fields.CharField(max_length=200)
    lesson_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
