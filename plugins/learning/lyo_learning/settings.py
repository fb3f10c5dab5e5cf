"""The plugin's name, its settings and its handle on the running kernel."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kernel import PluginHandle

NAME = "learning"


class LearningSettings(BaseModel):
    """``LYO_LEARNING__<FIELD>``: none yet (the limits are in :mod:`.models`)."""

    model_config = ConfigDict(frozen=True)


#: How the plugin's code reaches the running kernel (``plugin.settings``, ``plugin.cache``).
plugin = PluginHandle(NAME)
