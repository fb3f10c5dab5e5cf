"""User content: Markdown rendered with markdown-it-py (CommonMark, raw HTML off) and
the result sanitized with nh3 (Ammonia) against an allow-list, so whatever a user types,
the HTML served is inert. Both the source and the HTML are stored and returned.

Raw HTML in the source is escaped by the parser (``html=False``), and nh3 then keeps
only the tags and attributes below, only ``http``, ``https`` and ``mailto`` links (no
``javascript:`` or ``data:``), no ``style`` attribute, and adds ``rel="nofollow
noopener noreferrer"`` to links. Sanitizing after rendering guards against a parser bug
turning Markdown into markup."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough").enable("table")

TAGS = {
    "p",
    "br",
    "hr",
    "blockquote",
    "pre",
    "code",
    "em",
    "strong",
    "s",
    "del",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

#: ``@`` then a handle: letters (any script), digits, ``_ . -``; not inside an address.
MENTION = re.compile(r"(?<![\w@])@(\w[\w.-]{0,63})")


def render(source: str) -> str:
    """Safe HTML for Markdown ``source``."""
    return sanitize(_markdown.render(source))


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def mentions(source: str, limit: int = 20) -> list[str]:
    """The distinct ``@handles`` in ``source`` (code spans included: cheap and rare),
    in order of appearance, at most ``limit``."""
    found: list[str] = []
    for match in MENTION.finditer(source):
        handle = match.group(1).rstrip(".-")
        if handle and handle.lower() not in (f.lower() for f in found):
            found.append(handle)
            if len(found) == limit:
                break
    return found
