"""The running kernel, for plugin code: :func:`current` and :class:`PluginHandle`.

Routes, tasks, event handlers and CLI commands all reach the running :class:`Kernel`
the same way: ``kernel.current()``. A plugin usually keeps one handle bound to its
name, made at import time (before any kernel exists) and resolved on each use::

    # lyo_community/settings.py
    from kernel import PluginHandle

    plugin = PluginHandle("community")

    # anywhere in the plugin, at run time
    plugin.settings.max_reply_length
    await plugin.cache.incr(f"views:{discussion_id}")
    await plugin.kernel.tasks.enqueue(...)

The kernel becomes current when it starts and whenever it is activated (each request,
task and delivery), so code running in several kernels' tests sees its own.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.breaker import CircuitBreaker
    from kernel.data.cache import Cache
    from kernel.kernel import Kernel

_context: contextvars.ContextVar[Kernel | None] = contextvars.ContextVar("lyo_kernel", default=None)
_process: list[Kernel] = []  # the kernel started last in this process


def current() -> Kernel:
    """The running kernel: the one activated in this context, else the one this process
    started. Raises :class:`RuntimeError` when no kernel has started (at import time,
    say): keep such calls inside functions that run once serving has begun."""
    kernel = _context.get() or (_process[-1] if _process else None)
    if kernel is None:
        raise RuntimeError(
            "no Lyo kernel is running in this process yet: call kernel.current() "
            "from code that runs after start-up (a route, task, handler or hook), "
            "not at import time"
        )
    return kernel


def make_current(kernel: Kernel, *, process: bool = False) -> None:
    """Called by the kernel: current in this context, and (``process``) the process's."""
    _context.set(kernel)
    if process:
        if kernel in _process:
            _process.remove(kernel)
        _process.append(kernel)


def forget(kernel: Kernel) -> None:
    """Called by the kernel when it stops."""
    if kernel in _process:
        _process.remove(kernel)
    if _context.get() is kernel:
        _context.set(None)


class PluginHandle:
    """One plugin's view of the running kernel; every attribute is looked up on use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"PluginHandle({self.name!r})"

    @property
    def kernel(self) -> Kernel:
        """The running kernel (:func:`current`): ``tasks``, ``hub``, ``events``,
        ``storage``, ``settings`` (the kernel's), ``plugins``, ..."""
        return current()

    @property
    def settings(self) -> Any:
        """This plugin's validated settings (``LYO_<NAME>__*``)."""
        return current().settings_for(self.name)

    @property
    def cache(self) -> Cache:
        """The kernel's cache, under this plugin's prefix."""
        return current().cache.for_plugin(self.name)

    def set_degraded(self, reason: str | None) -> None:
        """Mark this plugin degraded with ``reason`` (``None`` clears it)."""
        current().set_degraded(self.name, reason)

    def breaker(self, name: str, **options: Any) -> CircuitBreaker:
        """This plugin's circuit breaker ``name``, made on first use with ``options``."""
        return current().circuit_breaker(self.name, name, **options)

    async def notify_user(
        self, user_id: object, what: str, data: dict[str, Any] | None = None
    ) -> None:
        """Send ``{"kind": "<plugin>.<what>", **data}`` to topic ``user:{user_id}`` once
        the current transaction commits."""
        await current().notify_user(user_id, f"{self.name}.{what}", data)
