"""Calling hooks: the kernel calls each plugin's implementation itself, one plugin at a
time in load order (``requires`` first), timing each call; pluggy only checks and
indexes the implementations.
"""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any

import pluggy

from kernel.errors import PluginError
from kernel.metrics import HOOK_SECONDS
from kernel.plugins import hookspecs
from kernel.plugins.loading import Plugin, PluginState


class HookCalls:
    """What :class:`kernel.Kernel` uses to call plugins' hooks (a mixin: it needs
    ``plugins``, in load order, and :meth:`_index_hooks` called once)."""

    plugins: dict[str, Plugin]
    _impls: dict[str, dict[str, Any]]

    def _index_hooks(self, pm: pluggy.PluginManager) -> None:
        """Index the implementations registered with ``pm`` by plugin and hook."""
        self._impls = {}
        for name in hookspecs.hook_names():
            for impl in getattr(pm.hook, name).get_hookimpls():
                self._impls.setdefault(impl.plugin_name, {})[name] = impl

    def implements(self, plugin: Plugin, hook: str) -> bool:
        return hook in self._impls.get(plugin.name, {})

    def call_sync(self, plugin: Plugin, hook: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook that must not be a coroutine."""
        result, awaitable = self._invoke(plugin, hook, kwargs)
        if awaitable:
            result.close()
            raise PluginError(f"plugin {plugin.name!r}: hook {hook!r} must not be async")
        return result

    async def call(self, plugin: Plugin, hook: str, **kwargs: Any) -> Any:
        """Call and await one plugin's implementation of ``hook``; ``None`` if it has none."""
        started = time.perf_counter()
        result, awaitable = self._invoke(plugin, hook, kwargs, started)
        if not awaitable:
            return result
        try:
            return await result
        finally:
            _timer(plugin.name, hook).observe(time.perf_counter() - started)

    def _invoke(
        self, plugin: Plugin, hook: str, kwargs: dict[str, Any], started: float | None = None
    ) -> tuple[Any, bool]:
        impl = self._impls.get(plugin.name, {}).get(hook)
        if impl is None:
            return None, False
        started = started or time.perf_counter()
        result = impl.function(*[kwargs[arg] for arg in impl.argnames])
        awaitable = inspect.isawaitable(result)
        if not awaitable:
            _timer(plugin.name, hook).observe(time.perf_counter() - started)
        return result, awaitable

    async def first(self, hook: str, **kwargs: Any) -> Any:
        """Await ``hook`` of each active plugin in load order; the first answer that is
        not ``None`` wins (pluggy's ``firstresult`` cannot see through coroutines)."""
        for plugin in self.plugins.values():
            if plugin.state == PluginState.ACTIVE and self.implements(plugin, hook):
                answer = await self.call(plugin, hook, **kwargs)
                if answer is not None:
                    return answer
        return None


@functools.cache
def _timer(plugin: str, hook: str) -> Any:
    """The histogram of one plugin's hook, looked up once: ``labels()`` costs several
    microseconds, and ``authenticate`` runs on every request with a token."""
    return HOOK_SECONDS.labels(plugin, hook)
