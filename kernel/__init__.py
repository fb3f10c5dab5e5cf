"""Lyo's kernel: the public API plugins build on.

Everything a plugin author needs is importable from here; the modules behind it
are implementation detail. The surface is recorded in ``kernel/PUBLIC_API.txt``
and a test fails when it changes without that record changing too.
"""

from kernel.app import App, create_app
from kernel.breaker import CircuitBreaker
from kernel.config import CommaList, Settings, load_settings
from kernel.errors import (
    BadRequest,
    CircuitOpen,
    ConfigError,
    Conflict,
    Forbidden,
    KernelError,
    NotFound,
    PayloadTooLarge,
    PluginError,
    PluginUnavailable,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from kernel.health import HealthCheck
from kernel.hookspecs import hookimpl
from kernel.identity import ANONYMOUS, Credentials, Identity, current_identity, require
from kernel.kernel import Kernel
from kernel.manifest import Manifest
from kernel.plugins import Plugin
from kernel.version import __version__

__all__ = [
    "ANONYMOUS",
    "App",
    "BadRequest",
    "CircuitBreaker",
    "CircuitOpen",
    "CommaList",
    "ConfigError",
    "Conflict",
    "Credentials",
    "Forbidden",
    "HealthCheck",
    "Identity",
    "Kernel",
    "KernelError",
    "Manifest",
    "NotFound",
    "PayloadTooLarge",
    "Plugin",
    "PluginError",
    "PluginUnavailable",
    "ServiceUnavailable",
    "Settings",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "__version__",
    "create_app",
    "current_identity",
    "hookimpl",
    "load_settings",
    "require",
]
