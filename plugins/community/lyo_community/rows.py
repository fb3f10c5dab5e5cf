"""What a discussion or a reply looks like to readers, built from its stored values.

Reads fetch rows as dicts (``.values(*DISCUSSION_FIELDS)``) and shape them here into the
plain dicts that are encoded once with orjson: a thread of hundreds of replies makes no
model instances, ORM or pydantic. The write routes, which answer one post, wrap the same
dicts in the response models (:func:`discussion_out`, :func:`reply_out`), so both paths
say the same thing. A deleted post keeps its place with its content emptied."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson

from kernel import ValidationFailed

from .models import Discussion, PostState, Reply
from .schemas import DiscussionOut, ReplyOut

DISCUSSION_FIELDS = (
    "id", "title", "body", "body_html", "author_id", "category_id", "course_id", "lesson_id",
    "tags", "mentions", "mentioned_users", "pinned", "locked", "hidden", "state",
    "deleted_at", "reply_count", "reaction_count", "view_count", "created_at", "edited_at",
    "last_activity_at",
)  # fmt: skip
REPLY_FIELDS = (
    "id", "discussion_id", "parent_id", "depth", "author_id", "body", "body_html", "mentions",
    "mentioned_users", "hidden", "state", "deleted_at", "reaction_count", "created_at",
    "edited_at",
)  # fmt: skip


def is_public(row: dict[str, Any]) -> bool:
    return row["state"] == PostState.PUBLISHED and not row["hidden"] and row["deleted_at"] is None


def discussion_dict(row: dict[str, Any], pending_views: int = 0) -> dict[str, Any]:
    deleted = row["deleted_at"] is not None
    return {
        "id": row["id"],
        "title": row["title"],
        "body": "" if deleted else row["body"],
        "body_html": "" if deleted else row["body_html"],
        "author_id": row["author_id"],
        "category_id": row["category_id"],
        "course_id": row["course_id"],
        "lesson_id": row["lesson_id"],
        "tags": row["tags"],
        "mentions": [] if deleted else row["mentions"],
        "mentioned_users": {} if deleted else row["mentioned_users"],
        "pinned": bool(row["pinned"]),
        "locked": bool(row["locked"]),
        "hidden": bool(row["hidden"]),
        "held": row["state"] == PostState.HELD,
        "deleted": deleted,
        "reply_count": row["reply_count"],
        "reaction_count": row["reaction_count"],
        "view_count": row["view_count"] + pending_views,
        "created_at": row["created_at"],
        "edited_at": row["edited_at"],
        "last_activity_at": row["last_activity_at"],
    }


def reply_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A reply node (``reactions`` and ``children`` filled in by the thread)."""
    deleted = row["deleted_at"] is not None
    return {
        "id": row["id"],
        "discussion_id": row["discussion_id"],
        "parent_id": row["parent_id"],
        "depth": row["depth"],
        "author_id": None if deleted else row["author_id"],
        "body": "" if deleted else row["body"],
        "body_html": "" if deleted else row["body_html"],
        "mentions": [] if deleted else row["mentions"],
        "mentioned_users": {} if deleted else row["mentioned_users"],
        "hidden": bool(row["hidden"]),
        "held": row["state"] == PostState.HELD,
        "deleted": deleted,
        "reaction_count": row["reaction_count"],
        "reactions": {},
        "created_at": row["created_at"],
        "edited_at": row["edited_at"],
        "children": [],
    }


def values_of(model: Discussion | Reply, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(model, name) for name in fields}


def discussion_out(d: Discussion, pending_views: int = 0) -> DiscussionOut:
    return DiscussionOut.model_validate(
        discussion_dict(values_of(d, DISCUSSION_FIELDS), pending_views)
    )


def reply_out(r: Reply) -> ReplyOut:
    return ReplyOut.model_validate(reply_dict(values_of(r, REPLY_FIELDS)))


def encode(value: Any) -> bytes:
    """JSON as the response models would write it (UUIDs as text, UTC times with ``Z``;
    asyncpg's own UUID type, which orjson does not know, through ``str``)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z, default=str)


def encode_cursor(*values: Any) -> str:
    """A keyset cursor: the values of the last row's sort key, as text."""
    return base64.urlsafe_b64encode(orjson.dumps([str(v) for v in values])).decode().rstrip("=")


def decode_cursor(cursor: str, *parsers: Callable[[str], Any]) -> list[Any]:
    """The values of ``cursor``, each through its parser; a 422 if it is not one of ours."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(parsers):
            raise ValueError(cursor)
        return [parse(str(value)) for parse, value in zip(parsers, raw, strict=True)]
    except (ValueError, TypeError, KeyError):
        raise ValidationFailed(
            [{"pointer": "/query/cursor", "detail": "Invalid cursor."}]
        ) from None
