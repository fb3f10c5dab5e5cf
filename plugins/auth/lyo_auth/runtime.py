"""What the plugin builds at start-up and its routes and hooks share.

The ``authenticate`` hook receives only the credentials, not the kernel, so the started
state lives here, one per process (set by ``startup``, cleared by ``shutdown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel import Kernel, ServiceUnavailable

from .passwords import Passwords
from .settings import AuthSettings
from .throttle import Throttle
from .tokens import Tokens

if TYPE_CHECKING:
    from kernel.data.uploads import Storage

NAME = "auth"


@dataclass
class Runtime:
    kernel: Kernel
    settings: AuthSettings
    tokens: Tokens
    passwords: Passwords
    throttle: Throttle
    cache: Any  # the kernel's cache view for this plugin (kernel.cache.for_plugin)
    storage: Storage


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The started plugin; 503 before ``startup`` ran (or after ``shutdown``)."""
    if _runtime is None:
        raise ServiceUnavailable("The auth plugin has not started.")
    return _runtime


def started() -> Runtime | None:
    return _runtime


def set_runtime(value: Runtime | None) -> None:
    global _runtime
    _runtime = value
