"""The plugin's name, its settings and the kernel it runs in (set by ``startup``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kernel import Kernel

NAME = "hello"


class HelloSettings(BaseModel):
    """Read from ``LYO_HELLO__<FIELD>`` (``LYO_HELLO__GREETING=Bonjour``) at start-up."""

    greeting: str = Field(default="Hello", min_length=1, max_length=40)
    max_name_length: int = Field(default=40, ge=1, le=200)
    cheer: str = Field(default="Well done", min_length=1, max_length=40)
    countdown_interval: float = Field(default=0.05, ge=0, le=10)


class State:
    """What the plugin keeps between hooks: the kernel it runs in, lifecycle counts."""

    kernel: Kernel | None = None
    starts = 0
    stops = 0


state = State()


def running_kernel() -> Kernel:
    """The kernel this plugin started in (the API process, a worker or a CLI command)."""
    assert state.kernel is not None, "the hello plugin has not started"
    return state.kernel


def settings() -> HelloSettings:
    value: HelloSettings = running_kernel().settings_for(NAME)
    return value
