"""Plugin discovery, manifest checks, dependency order, state and fault isolation.

Loading goes: discover (entry points in ``lyo.plugins`` plus explicit objects) →
select (enabled/disabled) → import (a failure marks the plugin failed) → read
manifests → check (names, dependencies, versions, cycles, URL prefixes, unknown
hooks, unsupported hook options) → order topologically → skip plugins whose
``needs`` (hooks) no usable plugin implements. A check that fails raises
:class:`PluginError` naming the plugin and what to do; nothing is served.
"""

from __future__ import annotations

import difflib
import heapq
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ValidationError

from kernel.config import Settings
from kernel.errors import PluginError
from kernel.names import name_problem
from kernel.plugins import hookspecs
from kernel.plugins.manifest import Manifest

ENTRY_POINT_GROUP = "lyo.plugins"


class PluginState(StrEnum):
    """Where a plugin stands (a ``str``: ``plugin.state == "active"`` holds too)."""

    LOADED = "loaded"  #: imported and checked; not started yet
    ACTIVE = "active"  #: started: its hooks run, its routes serve
    FAILED = "failed"  #: failed to import, build its routes or start (see ``error``)
    SKIPPED = "skipped"  #: a plugin it requires is failed, skipped or disabled
    DISABLED = "disabled"  #: not selected (``LYO_PLUGINS__ENABLED`` / ``__DISABLED``)


#: States in which a plugin's hooks never run again in this process.
UNUSABLE = (PluginState.DISABLED, PluginState.FAILED, PluginState.SKIPPED)


@dataclass
class Plugin:
    """One plugin and what the kernel knows about it."""

    name: str
    module: Any = None
    manifest: Manifest = field(default_factory=Manifest)
    state: PluginState = PluginState.LOADED
    error: str | None = None
    traceback: str | None = None
    degraded: str | None = None
    origin: str = "explicit"
    required: bool = False
    settings: BaseModel | None = None
    routes: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def url_prefixes(self) -> list[str]:
        return [f"/api/{self.name}", *self.manifest.url_prefixes]

    @property
    def usable(self) -> bool:
        """Imported and not failed: its hooks may be called."""
        return self.state in (PluginState.LOADED, PluginState.ACTIVE)

    def fail(self, error: BaseException | str) -> None:
        self.state = PluginState.FAILED
        if isinstance(error, BaseException):
            self.error = f"{type(error).__name__}: {error}"
            self.traceback = "".join(traceback.format_exception(error))
        else:
            self.error = error


def discover(group: str = ENTRY_POINT_GROUP) -> list[EntryPoint]:
    """Installed plugins: the entry points of ``group``, sorted by name."""
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def load_plugins(
    settings: Settings,
    pm: pluggy.PluginManager,
    explicit: Iterable[Any] = (),
    discover_installed: bool = True,
    kernel_version: str = "0",
) -> list[Plugin]:
    """Return every plugin, usable ones registered with ``pm``, in dependency order."""
    selection = settings.plugins
    plugins: dict[str, Plugin] = {}

    def add(plugin: Plugin) -> None:
        if plugin.name in plugins:
            raise PluginError(
                f"plugin {plugin.name!r} is installed twice ({plugins[plugin.name].origin} and "
                f"{plugin.origin}); uninstall one of them"
            )
        check_name(plugin.name)
        if selection.enabled and plugin.name not in selection.enabled:
            plugin.state = PluginState.DISABLED
        if plugin.name in selection.disabled:
            plugin.state = PluginState.DISABLED
        plugins[plugin.name] = plugin

    for ep in discover() if discover_installed else []:
        origin = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
        plugin = Plugin(name=ep.name, origin=origin)
        if ep.dist:
            plugin.manifest = Manifest(version=ep.dist.version)
        add(plugin)
        if plugin.state == PluginState.DISABLED:
            continue
        try:
            plugin.module = ep.load()
        except Exception as exc:
            plugin.fail(exc)
    for obj in [*explicit, *map(_import_module, selection.modules)]:
        manifest = _read_manifest(obj, name=None)
        if not manifest.name:
            raise PluginError(
                f"plugin object {obj!r} passed to create_app() has no name; return "
                "Manifest(name=...) from its manifest hook"
            )
        plugin = Plugin(name=manifest.name, module=obj, manifest=manifest)
        add(plugin)

    production_like = settings.is_production_like
    for plugin in plugins.values():
        plugin.required = (
            plugin.name not in selection.optional
            if production_like
            else plugin.name in selection.required
        )
        if (
            plugin.module is not None
            and plugin.state != PluginState.DISABLED
            and plugin.origin != "explicit"
        ):
            plugin.manifest = _read_manifest(plugin.module, plugin.name, plugin.manifest)

    for name in [*selection.enabled, *selection.required]:
        if name not in plugins:
            raise PluginError(
                f"LYO_PLUGINS__ENABLED/REQUIRED names {name!r}, which is not installed; "
                "install it or remove it from the list"
            )
    for plugin in plugins.values():
        if plugin.state == PluginState.FAILED and plugin.required:
            raise PluginError(f"required plugin {plugin.name!r} failed to import: {plugin.error}")

    ordered = _order(plugins, kernel_version)
    for plugin in ordered:
        if plugin.usable:
            _register(pm, plugin)
    # what each implements is known now: skip plugins whose needs nobody meets (and,
    # in turn, the plugins that require or need only them)
    while any(skip_if_dependency_unusable(plugin, plugins) for plugin in ordered):
        pass
    _check_prefixes(ordered)
    return ordered


def _import_module(path: str) -> Any:
    import importlib

    try:
        return importlib.import_module(path)
    except Exception as exc:
        raise PluginError(
            f"LYO_PLUGINS__MODULES names {path!r}, which cannot be imported: {exc}"
        ) from exc


def check_name(name: str) -> None:
    """Raise :class:`PluginError` when ``name`` cannot name a plugin (kernel.names)."""
    problem = name_problem(name)
    if problem is not None:
        raise PluginError(f"{problem}; rename the plugin (its entry point or manifest name)")


def _read_manifest(obj: Any, name: str | None, default: Manifest | None = None) -> Manifest:
    hook = getattr(obj, "manifest", None)
    if hook is None:
        return default or Manifest()
    label = repr(name) if name else repr(obj)
    try:
        manifest = hook()
        if isinstance(manifest, dict):
            manifest = Manifest(**manifest)
    except ValidationError as exc:
        raise PluginError(f"plugin {label} has an invalid manifest: {exc}") from None
    if not isinstance(manifest, Manifest):
        raise PluginError(f"plugin {label}: manifest() must return kernel.Manifest")
    if name and manifest.name and manifest.name != name:
        raise PluginError(
            f"plugin {name!r} calls itself {manifest.name!r} in its manifest; "
            "the entry-point name and the manifest name must agree"
        )
    return manifest


def _order(plugins: dict[str, Plugin], kernel_version: str) -> list[Plugin]:
    """Check dependencies and versions; return plugins in topological order.

    Among plugins free to go, the alphabetically first goes first, so the order is
    stable across machines.
    """
    for plugin in plugins.values():
        if plugin.state == PluginState.DISABLED or plugin.module is None:
            continue
        manifest = plugin.manifest
        if manifest.kernel and not _satisfies(kernel_version, manifest.kernel):
            raise PluginError(
                f"plugin {plugin.name!r} {plugin.version} needs kernel {manifest.kernel}, "
                f"this is {kernel_version}; upgrade one of them"
            )
        for dep, spec in manifest.requires.items():
            other = plugins.get(dep)
            if other is None:
                raise PluginError(
                    f"plugin {plugin.name!r} requires {dep!r} {spec}, which is not installed; "
                    f"install it (pip install lyo-{dep}) or disable {plugin.name!r}"
                )
            if spec and not _satisfies(other.version, spec):
                raise PluginError(
                    f"plugin {plugin.name!r} requires {dep!r} {spec}, but {other.version} is "
                    f"installed; install a matching {dep!r} or another {plugin.name!r}"
                )
    deps = {name: [d for d in p.manifest.requires if d in plugins] for name, p in plugins.items()}
    waiting = {name: len(d) for name, d in deps.items()}
    dependents: dict[str, list[str]] = {name: [] for name in plugins}
    for name, ds in deps.items():
        for d in ds:
            dependents[d].append(name)
    ready = [name for name, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) != len(plugins):
        cycle = sorted(name for name, n in waiting.items() if n)
        raise PluginError(
            f"plugins {', '.join(map(repr, cycle))} require each other in a cycle; "
            "remove one of the requirements"
        )
    result = [plugins[name] for name in order]
    for plugin in result:
        _skip_if_required_unusable(plugin, plugins)
    return result


def skip_if_dependency_unusable(plugin: Plugin, plugins: dict[str, Plugin]) -> bool:
    """Mark ``plugin`` skipped when a plugin it requires is disabled, failed or skipped,
    or when no usable plugin implements a hook it ``needs``; whether it was just skipped."""
    return _skip_if_required_unusable(plugin, plugins) or _skip_if_needs_unmet(plugin, plugins)


def _skip_if_required_unusable(plugin: Plugin, plugins: dict[str, Plugin]) -> bool:
    if plugin.state in UNUSABLE:
        return False
    for dep in plugin.manifest.requires:
        other = plugins[dep]
        if other.state in UNUSABLE:
            plugin.state = PluginState.SKIPPED
            plugin.error = f"requires {dep!r}, which is {other.state}"
            return True
    return False


def _skip_if_needs_unmet(plugin: Plugin, plugins: dict[str, Plugin]) -> bool:
    """Needs are met by what usable plugins implement (known once they are registered)."""
    if plugin.state in UNUSABLE:
        return False
    for hook in plugin.manifest.needs:
        if not any(other.usable and hook in other.hooks for other in plugins.values()):
            plugin.state = PluginState.SKIPPED
            plugin.error = (
                f"needs a plugin implementing `{hook}`, and no usable plugin does; "
                "install or enable one"
            )
            return True
    return False


def _satisfies(version: str, spec: str) -> bool:
    try:
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


#: pluggy's ordering and wrapping options, which kernel-called hooks cannot honour.
UNSUPPORTED_HOOKIMPL_OPTIONS = ("tryfirst", "trylast", "wrapper", "hookwrapper")


def _refuse_unsupported_options(pm: pluggy.PluginManager, plugin: Plugin) -> None:
    """The kernel calls each plugin's implementation itself, in load order
    (kernel.plugins.calls): refuse ``@hookimpl`` options it would silently ignore."""
    for attr in dir(plugin.module):
        opts = pm.parse_hookimpl_opts(plugin.module, attr)
        if not opts:
            continue
        for option in UNSUPPORTED_HOOKIMPL_OPTIONS:
            if opts.get(option):
                hook = opts.get("specname") or attr
                raise PluginError(
                    f"plugin {plugin.name!r}: hook `{hook}` is marked "
                    f"@hookimpl({option}=True); the kernel calls hooks in plugin order "
                    "(requires); tryfirst/trylast/wrapper are not supported: drop the option"
                )


def _register(pm: pluggy.PluginManager, plugin: Plugin) -> None:
    _refuse_unsupported_options(pm, plugin)
    try:
        pm.register(plugin.module, name=plugin.name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        message = str(exc)
        unknown = re.match(r"unknown hook '(\w+)'", message)
        if unknown:
            hook = unknown.group(1)
            close = difflib.get_close_matches(hook, hookspecs.hook_names(), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "see kernel/plugins/hookspecs.py"
            raise PluginError(
                f"plugin {plugin.name!r}: unknown hook `{hook}` (marked @hookimpl); {hint}"
            ) from None
        raise PluginError(
            f"plugin {plugin.name!r}: {message}; fix the hook's name or signature "
            "(see kernel/plugins/hookspecs.py)"
        ) from None
    plugin.hooks = sorted(
        caller.name
        for caller in pm.get_hookcallers(plugin.module) or []
        if caller.name in hookspecs.hook_names()
    )


def _check_prefixes(plugins: list[Plugin]) -> None:
    owners: list[tuple[str, str]] = []
    for plugin in plugins:
        if plugin.state == PluginState.DISABLED:
            continue
        for prefix in plugin.url_prefixes:
            for other_prefix, other in owners:
                if _overlaps(prefix, other_prefix):
                    raise PluginError(
                        f"plugin {plugin.name!r} claims URL prefix {prefix} which clashes with "
                        f"{other_prefix} of plugin {other!r}; change one manifest's url_prefixes"
                    )
            owners.append((prefix, plugin.name))


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def owner_of(path: str, plugins: Iterable[Plugin]) -> Plugin | None:
    """The plugin whose URL prefix contains ``path``, if any."""
    for plugin in plugins:
        for prefix in plugin.url_prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return plugin
    return None
