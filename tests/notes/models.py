"""Folders and notes: a unique slug, a foreign key, a not-null field and a CHECK
constraint (priority 0..5: SQL in the migration, mirrored by a validator)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model
from tortoise.validators import MaxValueValidator, MinValueValidator


class Folder(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)


class Note(Model):
    id = fields.UUIDField(primary_key=True)
    slug = fields.CharField(max_length=100, unique=True)
    title = fields.CharField(max_length=200)
    priority = fields.IntField(default=0, validators=[MinValueValidator(0), MaxValueValidator(5)])
    folder: fields.ForeignKeyRelation[Folder] = fields.ForeignKeyField(
        "notes.Folder", related_name="notes", null=True
    )
    created_at = fields.DatetimeField(auto_now_add=True)
