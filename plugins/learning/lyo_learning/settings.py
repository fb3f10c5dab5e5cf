"""The plugin's name, its settings and its handle on the running kernel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel import PluginHandle

NAME = "learning"


class LearningSettings(BaseModel):
    """``LYO_LEARNING__<FIELD>`` (the content limits are in :mod:`.models`)."""

    model_config = ConfigDict(frozen=True)

    #: Attempts a learner has at each lesson's quiz; 0: no limit.
    quiz_max_attempts: int = Field(default=3, ge=0, le=1000)
    #: Which attempt's score counts for the lesson: the best one, or the last one.
    quiz_score: Literal["best", "last"] = "best"
    #: The pass mark (percent of questions right) of a lesson that sets none.
    quiz_pass_mark: int = Field(default=70, ge=0, le=100)
    #: How long instructor statistics are cached (the plugin's events also clear them).
    stats_cache_seconds: int = Field(default=300, ge=1, le=86_400)
    #: Seconds a cached catalog page lives (0: no catalog cache). Writes retire cached
    #: pages at once; this bounds staleness only when Redis missed the write's retirement.
    catalog_ttl: float = Field(default=60, ge=0, le=86_400)


#: How the plugin's code reaches the running kernel (``plugin.settings``, ``plugin.cache``).
plugin = PluginHandle(NAME)
