"""Hostile input, refused before any route or parser sees it.

- JSON nested deeper than ``LYO_MAX_JSON_DEPTH`` (default :data:`MAX_JSON_DEPTH`) is a
  400: the standard library's parser recurses once per level, and a body of a few
  thousand brackets would otherwise end in a ``RecursionError`` (a 500).
- Strings PostgreSQL cannot store (NUL, and lone UTF-16 surrogates, which no UTF-8 text
  holds) are a 422 naming the field, wherever they come in: query parameters, path
  parameters, JSON bodies (keys too) and form fields. Without this check the database
  refuses them and its error text (``invalid byte sequence for encoding "UTF8": 0x00``)
  is all a client would learn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kernel.errors import BadRequest, ValidationFailed

#: Deepest JSON nesting a request body may have (``LYO_MAX_JSON_DEPTH`` overrides it).
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_DETAIL = "Text may not contain NUL characters or lone surrogates."


def check_json_depth(text: str, limit: int) -> None:
    """Raise 400 when the JSON ``text`` nests arrays and objects deeper than ``limit``.

    Linear, and nearly free for ordinary bodies: only a body with more than ``limit``
    brackets in all is scanned (strings removed first, so brackets inside them do not
    count)."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if bracket[0] in "[{":
            depth += 1
            if depth > limit:
                raise BadRequest(f"The JSON body nests deeper than {limit} levels.")
        else:
            depth -= 1


def storable(text: str) -> bool:
    """Whether ``text`` holds only characters PostgreSQL can store."""
    return _UNSTORABLE.search(text) is None


def check_json_strings(value: Any, pointer: str = "") -> None:
    """Raise 422 at the first string (or key) of a parsed JSON value that is not
    :func:`storable`; ``pointer`` is where ``value`` sits (JSON pointer)."""
    if isinstance(value, str):
        if not storable(value):
            raise _unstorable(pointer or "/")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{pointer}/{_escape(_printable(key))}"
            if not storable(key):
                raise _unstorable(where)
            check_json_strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_strings(item, f"{pointer}/{index}")


def check_fields(source: str, fields: Iterable[tuple[str, Any]]) -> None:
    """Raise 422 for the first ``(name, value)`` whose name or string value is not
    :func:`storable`; the pointer is ``{source}/{name}`` (``/query/q``, ``/path/id``)."""
    for name, value in fields:
        if not storable(name) or (isinstance(value, str) and not storable(value)):
            raise _unstorable(f"{source}/{_escape(_printable(name))}")


def _unstorable(pointer: str) -> ValidationFailed:
    return ValidationFailed(
        [{"pointer": pointer, "detail": UNSTORABLE_DETAIL, "type": "unstorable"}]
    )


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _printable(name: str) -> str:
    return _UNSTORABLE.sub("\ufffd", name)
