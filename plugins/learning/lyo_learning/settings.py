"""The plugin's name, its settings and its handle on the running kernel."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kernel import PluginHandle

NAME = "learning"


class LearningSettings(BaseModel):
    """``LYO_LEARNING__<FIELD>`` (the content limits are in :mod:`.models`)."""

    model_config = ConfigDict(frozen=True)

    #: Seconds a cached catalog page lives (0: no catalog cache). Writes retire cached
    #: pages at once; this bounds staleness only when Redis missed the write's retirement.
    catalog_ttl: float = Field(default=60, ge=0, le=86_400)


#: How the plugin's code reaches the running kernel (``plugin.settings``, ``plugin.cache``).
plugin = PluginHandle(NAME)
