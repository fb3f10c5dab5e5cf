"""Lyo's kernel: the public API plugins build on.

Everything a plugin author needs is importable from here; the modules behind it
are implementation detail. The surface is recorded in ``kernel/PUBLIC_API.txt``
and a test fails when it changes without that record changing too.
"""

from kernel.breaker import CircuitBreaker
from kernel.cli.context import with_kernel, with_kernel_loaded
from kernel.config import CommaList, Settings, load_settings
from kernel.current import PluginHandle, current
from kernel.data.cache import Cache
from kernel.data.db import after_commit, atomic, transaction
from kernel.data.pagination import (
    CursorPage,
    CursorQuery,
    Page,
    PageQuery,
    paginate,
    paginate_cursor,
)
from kernel.data.uploads import IMAGES, Storage, StoredFile, save_upload
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
from kernel.events import Envelope, Event, Handler, on, publish, publish_many
from kernel.health import HealthCheck
from kernel.identity import (
    ANONYMOUS,
    Credentials,
    Identity,
    Permission,
    current_identity,
    require,
)
from kernel.kernel import Kernel
from kernel.plugins.hookspecs import hookimpl
from kernel.plugins.loading import Plugin, PluginState
from kernel.plugins.manifest import Manifest
from kernel.tasks import TaskCancelled, TaskContext, TaskSpec, task
from kernel.tasks.lookup import TaskRunInfo, count_task_runs, task_run
from kernel.version import __version__
from kernel.web.accepted import Accepted, accepted
from kernel.web.app import App, create_app
from kernel.web.problems import problem_responses
from kernel.web.responses import json_response, responds

__all__ = [
    "ANONYMOUS",
    "IMAGES",
    "Accepted",
    "App",
    "BadRequest",
    "Cache",
    "CircuitBreaker",
    "CircuitOpen",
    "CommaList",
    "ConfigError",
    "Conflict",
    "Credentials",
    "CursorPage",
    "CursorQuery",
    "Envelope",
    "Event",
    "Forbidden",
    "Handler",
    "HealthCheck",
    "Identity",
    "Kernel",
    "KernelError",
    "Manifest",
    "NotFound",
    "Page",
    "PageQuery",
    "PayloadTooLarge",
    "Permission",
    "Plugin",
    "PluginError",
    "PluginHandle",
    "PluginState",
    "PluginUnavailable",
    "ServiceUnavailable",
    "Settings",
    "Storage",
    "StoredFile",
    "TaskCancelled",
    "TaskContext",
    "TaskRunInfo",
    "TaskSpec",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "__version__",
    "accepted",
    "after_commit",
    "atomic",
    "count_task_runs",
    "create_app",
    "current",
    "current_identity",
    "hookimpl",
    "json_response",
    "load_settings",
    "on",
    "paginate",
    "paginate_cursor",
    "problem_responses",
    "publish",
    "publish_many",
    "require",
    "responds",
    "save_upload",
    "task",
    "task_run",
    "transaction",
    "with_kernel",
    "with_kernel_loaded",
]
