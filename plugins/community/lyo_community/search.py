"""``GET /api/community/search?q=``: public discussions and replies matching ``q``.

PostgreSQL: the migration gives ``community_discussion`` and ``community_reply`` a
generated ``search`` column (``tsvector``, English configuration, title weighted above
body) with a GIN index; queries use ``websearch_to_tsquery`` (quotes, ``or``, ``-``),
are ranked with ``ts_rank`` and get a highlighted ``ts_headline`` snippet. SQLite (and
a PostgreSQL database built without the migration) falls back to a case-insensitive
substring match, newest first. Snippets are HTML: the text is escaped and only the
``<mark>`` around matches is markup."""

from __future__ import annotations

import html
import re

from tortoise.expressions import Q

from .models import Discussion, PostState, Reply
from .schemas import SearchHit, SearchQuery, SearchResults

START, STOP = "\x02", "\x03"  # ts_headline's markers, escaped around, then made <mark>
_PG = f"""
WITH hits AS (
  SELECT 'discussion' AS target_type, d.id, d.id AS discussion_id, d.title, d.body,
         d.created_at, ts_rank(d.search, q) AS rank
  FROM community_discussion d, websearch_to_tsquery('english', $1) q
  WHERE d.search @@ q AND d.state = 'published' AND NOT d.hidden AND d.deleted_at IS NULL
  UNION ALL
  SELECT 'reply', r.id, r.discussion_id, d.title, r.body, r.created_at,
         ts_rank(r.search, q) * 0.8
  FROM community_reply r JOIN community_discussion d ON d.id = r.discussion_id,
       websearch_to_tsquery('english', $1) q
  WHERE r.search @@ q AND r.state = 'published' AND NOT r.hidden AND r.deleted_at IS NULL
    AND d.state = 'published' AND NOT d.hidden AND d.deleted_at IS NULL
  ORDER BY rank DESC, created_at DESC, id
  LIMIT $2 OFFSET $3
)
SELECT target_type, id, discussion_id, title, created_at, rank,
       ts_headline('english', body, websearch_to_tsquery('english', $1),
                   'StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=10, MaxFragments=2')
         AS snippet
FROM hits ORDER BY rank DESC, created_at DESC, id
"""


async def search(query: SearchQuery) -> SearchResults:
    offset = (query.page - 1) * query.size
    if await _full_text():
        conn = Discussion._meta.db
        rows = (await conn.execute_query(_PG, [query.q, query.size + 1, offset]))[1]
        hits = [
            SearchHit(
                target_type=row["target_type"],
                id=row["id"],
                discussion_id=row["discussion_id"],
                title=row["title"],
                snippet=_marked(row["snippet"] or ""),
                rank=float(row["rank"]),
                created_at=row["created_at"],
            )
            for row in rows
        ]
    else:
        hits = await _fallback(query.q, query.size + 1, offset)
    more = len(hits) > query.size
    return SearchResults(items=hits[: query.size], page=query.page, size=query.size, more=more)


_has_column: dict[str, bool] = {}


async def _full_text() -> bool:
    """PostgreSQL with the migration's ``search`` columns (looked up once per database)."""
    conn = Discussion._meta.db  # the one connection every plugin shares
    if conn.capabilities.dialect != "postgres":
        return False
    key = str(getattr(conn, "database", "")) + str(id(conn))
    if key not in _has_column:
        _, rows = await conn.execute_query(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'community_reply' "
            "AND column_name = 'search'"
        )
        _has_column[key] = bool(rows)
    return _has_column[key]


def _marked(snippet: str) -> str:
    return html.escape(snippet).replace(START, "<mark>").replace(STOP, "</mark>")


def _excerpt(text: str, q: str, width: int = 160) -> str:
    at = text.lower().find(q.lower())
    if at < 0:
        return html.escape(text[:width])
    start = max(0, at - width // 2)
    part = text[start : at + len(q) + width // 2]
    pattern = re.compile(re.escape(q), re.IGNORECASE)
    pieces = pattern.split(part)
    found = pattern.findall(part)
    out = html.escape(pieces[0])
    for match, rest in zip(found, pieces[1:], strict=True):
        out += f"<mark>{html.escape(match)}</mark>{html.escape(rest)}"
    return out


async def _fallback(q: str, limit: int, offset: int) -> list[SearchHit]:
    public = Q(state=PostState.PUBLISHED, hidden=False, deleted_at=None)
    discussions = (
        await Discussion.filter(public & (Q(title__icontains=q) | Q(body__icontains=q)))
        .order_by("-created_at", "id")
        .limit(limit + offset)
    )
    replies = (
        await Reply.filter(
            public,
            body__icontains=q,
            discussion__state=PostState.PUBLISHED,
            discussion__hidden=False,
            discussion__deleted_at=None,
        )
        .select_related("discussion")
        .order_by("-created_at", "id")
        .limit(limit + offset)
    )
    hits = [
        SearchHit(
            target_type="discussion",
            id=d.id,
            discussion_id=d.id,
            title=d.title,
            snippet=_excerpt(d.body if q.lower() in d.body.lower() else d.title, q),
            rank=1.0 if q.lower() in d.title.lower() else 0.5,
            created_at=d.created_at,
        )
        for d in discussions
    ] + [
        SearchHit(
            target_type="reply",
            id=r.id,
            discussion_id=r.discussion_id,
            title=r.discussion.title,
            snippet=_excerpt(r.body, q),
            rank=0.4,
            created_at=r.created_at,
        )
        for r in replies
    ]
    hits.sort(key=lambda h: (-h.rank, -h.created_at.timestamp()))
    return hits[offset : offset + limit]
