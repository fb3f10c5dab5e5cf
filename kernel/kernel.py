"""The :class:`Kernel`: settings, plugins and their lifecycle, shared by every process.

The web app, ``lyo worker`` and CLI commands each build one; lifecycle hooks receive
it rather than the Quart app, which only the ``blueprints`` hook sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import pluggy
import structlog

from kernel.breaker import CircuitBreaker
from kernel.config import (
    Settings,
    load_plugin_settings,
    load_settings,
    unknown_plugin_variables,
)
from kernel.current import forget, make_current
from kernel.data.batch import RedisPipe
from kernel.data.cache import Cache, create_cache
from kernel.data.db import Database, prepare_models
from kernel.data.uploads import LocalStorage, Storage
from kernel.errors import ConfigError, PluginError
from kernel.events import KERNEL_TASKS, Events
from kernel.health import HealthCheck
from kernel.identity import ANONYMOUS, OPERATE, Credentials, Identity
from kernel.plugins import hookspecs
from kernel.plugins.calls import HookCalls
from kernel.plugins.loading import (
    Plugin,
    PluginState,
    load_plugins,
    skip_if_dependency_unusable,
)
from kernel.plugins.permissions import collect_permissions
from kernel.plugins.readiness import health_checks, readiness
from kernel.realtime.hub import Hub, create_hub
from kernel.realtime.notices import USER_PREFIX, authorize_user_topic, notify_user
from kernel.tasks import Tasks, task_topic
from kernel.version import __version__

log = structlog.get_logger("lyo.kernel")


class Kernel(HookCalls):
    """Everything a plugin's lifecycle hooks may use. Build one with :meth:`load`."""

    def __init__(self, settings: Settings, pm: pluggy.PluginManager, plugins: list[Plugin]):
        self.settings: Settings = settings
        self.version: str = __version__
        self.pm = pm
        self.plugins: dict[str, Plugin] = {plugin.name: plugin for plugin in plugins}
        self.breakers: dict[str, dict[str, CircuitBreaker]] = {}
        #: Every declared permission: its description, and the roles that get it by
        #: default (``permission_defaults``; the auth plugin applies them).
        self.permissions: dict[str, str] = {
            OPERATE: "Read /metrics and /-/plugins in staging and production."
        }
        self.permission_defaults: dict[str, tuple[str, ...]] = {}
        #: ``LYO_<PLUGIN>__*`` variables naming no setting, per plugin (warned at load).
        self.unknown_variables: dict[str, list[str]] = {}
        self.db: Database | None = None
        # set by start(): they belong to the event loop that serves
        self.tasks: Tasks = None  # type: ignore[assignment]
        self.cache: Cache = None  # type: ignore[assignment]
        self.hub: Hub = None  # type: ignore[assignment]
        #: Redis writes nobody waits on alone (status publishes, task sends,
        #: acknowledgements, results) share round trips here; ``None`` without Redis.
        self.pipe: RedisPipe | None = None
        self.events: Events = None  # type: ignore[assignment]
        #: Where uploads go (kernel.uploads.save_upload); local files by default.
        self.storage: Storage = LocalStorage(settings.media_root, settings.media_url)
        self.started: bool = False
        #: The queues this process consumes as a ``lyo worker`` (set before ``start``).
        self.worker_queues: tuple[str, ...] = ()
        self._index_hooks(pm)

    @classmethod
    def load(
        cls,
        settings: Settings | None = None,
        plugins: Iterable[Any] = (),
        *,
        discover: bool = True,
    ) -> Kernel:
        """Read settings, load and check plugins, read their settings and permissions.

        Raises :class:`kernel.ConfigError` or :class:`kernel.PluginError` with a message
        for the operator; nothing has started yet.
        """
        settings = settings or load_settings()
        settings.check()
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        loaded = load_plugins(
            settings, pm, explicit=plugins, discover_installed=discover, kernel_version=__version__
        )
        kernel = cls(settings, pm, loaded)
        for plugin in kernel.usable():
            with kernel.isolated(plugin, "failed to declare its settings or permissions"):
                model = kernel.call_sync(plugin, "settings_model")
                if model is not None:
                    plugin.settings = load_plugin_settings(plugin.name, model)
                unknown = unknown_plugin_variables(plugin.name, model)
                if unknown:
                    kernel.unknown_variables[plugin.name] = unknown
                    log.warning(
                        "environment variables name no setting of the plugin; ignored "
                        "(`lyo check` fails on them in staging and production)",
                        plugin=plugin.name,
                        variables=unknown,
                        settings=sorted(model.model_fields) if model is not None else [],
                    )
                declared = kernel.call_sync(plugin, "permissions") or {}
                collect_permissions(
                    plugin.name, declared, kernel.permissions, kernel.permission_defaults
                )
        return kernel

    @contextlib.contextmanager
    def isolated(self, plugin: Plugin, what: str) -> Iterator[None]:
        """Run a plugin's hook: a bug in it marks the plugin failed (or, if it is
        required, stops start-up); configuration and plugin errors always stop it."""
        try:
            yield
        except (ConfigError, PluginError):
            raise
        except Exception as exc:
            self._fail(plugin, exc, what)

    # -- plugins -------------------------------------------------------------------------

    def plugin(self, name: str) -> Plugin:
        return self.plugins[name]

    def consumes(self, queue: str) -> bool:
        """Whether tasks of ``queue`` run in this process: a ``lyo worker`` consuming it,
        or any process with the in-memory broker (development, where tasks run where
        they are enqueued). A plugin whose tasks need something (a model, a device)
        checks for it where this is true, and nowhere else."""
        return not self.settings.redis_url or queue in self.worker_queues

    def usable(self) -> list[Plugin]:
        """Plugins whose hooks may run (imported, not failed, skipped or disabled)."""
        return [p for p in self.plugins.values() if p.usable]

    def settings_for(self, name: str) -> Any:
        """The validated settings of plugin ``name`` (``None`` if it declares none)."""
        return self.plugins[name].settings

    def set_degraded(self, name: str, reason: str | None) -> None:
        """Mark plugin ``name`` degraded with ``reason`` (``None`` clears it).

        A degraded plugin keeps serving; ``/health/ready`` and ``/-/plugins`` show why.
        """
        plugin = self.plugins[name]
        if reason != plugin.degraded:
            log.warning(
                "plugin degraded" if reason else "plugin recovered", plugin=name, reason=reason
            )
        plugin.degraded = reason

    def circuit_breaker(self, plugin: str, name: str, **options: Any) -> CircuitBreaker:
        """The breaker ``name`` of ``plugin``, made on first use with ``options``."""
        breakers = self.breakers.setdefault(plugin, {})
        if name not in breakers:
            breakers[name] = CircuitBreaker(f"{plugin}:{name}", **options)
        return breakers[name]

    async def notify_user(
        self, user_id: object, kind: str, data: dict[str, Any] | None = None
    ) -> None:
        """Send ``{"kind": kind, **data}`` to websocket topic ``user:{user_id}`` once the
        current transaction commits; ``kind`` is ``"<plugin>.<what>"`` (see kernel.notices)."""
        await notify_user(self, user_id, kind, data)

    # -- authentication ---------------------------------------------------------------------

    async def authenticate(self, credentials: Credentials) -> Identity:
        """The identity the first answering plugin gives; anonymous if none does."""
        identity = await self.first("authenticate", credentials=credentials, kernel=self)
        return identity if identity is not None else ANONYMOUS

    @property
    def authenticates(self) -> bool:
        """Whether any active plugin implements ``authenticate``."""
        return any(
            p.state == PluginState.ACTIVE and self.implements(p, "authenticate")
            for p in self.plugins.values()
        )

    def model_modules(self) -> dict[str, list[str]]:
        """``{plugin: [models module, ...]}`` for usable plugins implementing ``models``."""
        found = {}
        for plugin in self.usable():
            with self.isolated(plugin, "failed to name its models"):
                modules = self.call_sync(plugin, "models")
                if modules:
                    found[plugin.name] = [modules] if isinstance(modules, str) else list(modules)
        return found

    # -- lifecycle -------------------------------------------------------------------------

    async def open_database(self) -> Database:
        """Connect the database with the models of every usable plugin.

        SQLite (development) gets its tables from the models. On PostgreSQL, pending
        migrations are applied in development and test, and refused in staging and
        production (run ``lyo migrate`` first).
        """
        apps = {}
        for name, modules in self.model_modules().items():
            with self.isolated(self.plugins[name], "failed to import its models"):
                prepare_models(name, modules)
                apps[name] = modules
        db = Database(self.settings.database_url, apps, self.settings.database_pool_size)
        if db.dialect == "postgres":
            from kernel.data import migrations

            if self.settings.is_production_like:
                pending = {
                    app: state["pending"]
                    for app, state in (await migrations.status(self)).items()
                    if state["pending"]
                }
                if pending:
                    raise ConfigError(
                        f"refusing to serve with pending migrations {pending}; run `lyo migrate`"
                    )
            else:
                await migrations.upgrade(self)
        await db.open(create_schema=db.dialect == "sqlite")
        self.db = db
        return db

    def activate(self) -> None:
        """Make this kernel's database current in the running context and the tasks it
        spawns (Tortoise keeps its state in a context variable). The middleware does
        it per request; call it in code that starts work outside a request."""
        make_current(self)
        if self.db is not None:
            self.db.activate()
        if self.events is not None:
            self.events.activate()

    def _fail(self, plugin: Plugin, exc: BaseException, what: str) -> None:
        plugin.fail(exc)
        log.error(f"plugin {what}", plugin=plugin.name, error=plugin.error)
        if plugin.required:
            raise PluginError(f"required plugin {plugin.name!r} {what}: {plugin.error}") from exc

    async def start(self) -> None:
        """Open the database and services, then run every usable plugin's ``startup``
        in dependency order, isolating failures. If start-up fails, whatever was
        opened is closed again."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        make_current(self, process=True)
        if self.db is None:
            await self.open_database()
        settings = self.settings
        self.cache = create_cache(settings.redis_url, namespace=settings.redis_prefix)
        if self.cache.breaker is not None:
            self.breakers.setdefault("kernel", {})["redis-cache"] = self.cache.breaker
        if settings.redis_url:
            self.pipe = RedisPipe.from_url(settings.redis_url)
        self.hub = create_hub(
            settings.redis_url, prefix=f"{settings.redis_prefix}:rt:", pipe=self.pipe
        )
        self.tasks = Tasks(self)
        self.tasks.on_publish(self.hub.publish_soon)
        self.hub.add_topic_handler("task:", task_topic)
        self.hub.add_topic_handler(USER_PREFIX, authorize_user_topic)
        self.events = Events(self)
        for spec in KERNEL_TASKS:
            self.tasks.register(spec, "kernel")
        for plugin in self.usable():
            with self.isolated(plugin, "failed to declare its tasks or event handlers"):
                specs = list(self.call_sync(plugin, "tasks") or [])
                handlers = list(self.call_sync(plugin, "event_handlers") or [])
            if plugin.usable:
                for spec in specs:
                    self.tasks.register(spec, plugin.name)
                for handler in handlers:
                    self.events.register(handler, plugin.name)
        await self.tasks.start()
        self.activate()
        for plugin in self.plugins.values():
            skip_if_dependency_unusable(plugin, self.plugins)
            if not plugin.usable:
                if plugin.required and plugin.state != PluginState.DISABLED:
                    raise PluginError(
                        f"required plugin {plugin.name!r} is {plugin.state}: {plugin.error}"
                    )
                continue
            try:
                await asyncio.wait_for(
                    self.call(plugin, "startup", kernel=self), self.settings.hook_timeout
                )
            except Exception as exc:
                if isinstance(exc, TimeoutError):
                    exc = TimeoutError(f"startup took longer than {self.settings.hook_timeout} s")
                self._fail(plugin, exc, "failed to start")
                continue
            plugin.state = PluginState.ACTIVE
        # events for plugins that did not start are not theirs to handle here
        self.events.handlers = {
            key: handler
            for key, handler in self.events.handlers.items()
            if self.plugins[key.split(":", 1)[0]].state == PluginState.ACTIVE
        }
        if not settings.redis_url:
            self.events.start_relay()  # no workers with the in-memory broker
        self.started = True

    async def stop(self) -> None:
        """Run ``shutdown`` of every started plugin in reverse order; errors are logged."""
        for plugin in reversed(list(self.plugins.values())):
            if plugin.state != PluginState.ACTIVE:
                continue
            try:
                await asyncio.wait_for(
                    self.call(plugin, "shutdown", kernel=self), self.settings.hook_timeout
                )
            except Exception as exc:
                log.error("plugin failed to shut down", plugin=plugin.name, error=repr(exc))
        if self.events is not None:
            await self.events.stop_relay()
        if self.tasks is not None:
            await self.tasks.stop()
        if self.hub is not None:
            await self.hub.stop()
        if self.pipe is not None:
            await self.pipe.close()
            self.pipe = None
        if self.cache is not None:
            await self.cache.close()
        if self.db is not None:
            await self.db.close()
            self.db = None
        self.started = False
        forget(self)

    # -- reports ---------------------------------------------------------------------------

    async def health_checks(self) -> list[HealthCheck]:
        """The kernel's checks (database, Redis) and those of every active plugin."""
        return await health_checks(self)

    async def readiness(self) -> tuple[bool, list[dict[str, Any]]]:
        """Run every check; ready unless a required one fails or a required plugin is down."""
        return await readiness(self)

    def describe_plugins(self) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "version": p.version,
                "state": p.state,
                "degraded": p.degraded,
                "error": p.error,
                "required": p.required,
                "origin": p.origin,
                "requires": p.manifest.requires,
                "url_prefixes": p.url_prefixes,
                "hooks": p.hooks,
                "routes": p.routes,
                "tasks": sorted(n for n in self.tasks.specs if n.startswith(p.name + ":"))
                if self.tasks
                else [],
                "event_handlers": sorted(
                    h for h in self.events.handlers if h.startswith(p.name + ":")
                )
                if self.events
                else [],
                "circuit_breakers": [b.describe() for b in self.breakers.get(p.name, {}).values()],
            }
            for p in self.plugins.values()
        ]
