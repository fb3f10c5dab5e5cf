"""The plugin's name, its settings and its handle on the running kernel."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kernel import PluginHandle

NAME = "hello"


class HelloSettings(BaseModel):
    """Read from ``LYO_HELLO__<FIELD>`` (``LYO_HELLO__GREETING=Bonjour``) at start-up."""

    greeting: str = Field(default="Hello", min_length=1, max_length=40)
    max_name_length: int = Field(default=40, ge=1, le=200)
    cheer: str = Field(default="Well done", min_length=1, max_length=40)
    countdown_interval: float = Field(default=0.05, ge=0, le=10)


#: How the plugin's code reaches the running kernel, in routes, tasks, handlers and CLI
#: commands alike: ``plugin.settings.greeting``, ``plugin.kernel.tasks.enqueue(...)``.
plugin = PluginHandle(NAME)
