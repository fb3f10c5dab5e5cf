"""Every hook a plugin can implement. Read this file to learn the extension surface.

Implement a hook with ``@kernel.hookimpl`` on a function of the same name in the
module your ``lyo.plugins`` entry point names. Any hook may be a plain function or
a coroutine function: the kernel calls each plugin's implementation itself, awaits
what needs awaiting, and times it (``lyo_plugin_hook_seconds`` in ``/metrics``).
Hooks that pick one answer (``authenticate``) are awaited in plugin load order
and the first answer that is not ``None`` wins.

A function marked ``@hookimpl`` whose name is not below stops start-up, so a
misspelled hook fails loudly. So does one marked with pluggy's ``tryfirst``,
``trylast``, ``wrapper`` or ``hookwrapper``: hooks run in plugin order (a plugin
after those it ``requires``), and those options would be silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel
    from quart import Blueprint

    from kernel.events import Handler
    from kernel.health import HealthCheck
    from kernel.identity import Credentials, Identity, Permission
    from kernel.kernel import Kernel
    from kernel.plugins.manifest import Manifest
    from kernel.tasks import TaskSpec

PROJECT = "lyo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def manifest() -> Manifest:
    """Describe the plugin: version, ``requires``, kernel range, extra URL prefixes.

    Called once at load, before any other hook. Plugins passed to
    ``create_app(plugins=[...])`` must also give their ``name`` here.
    """


@hookspec
def settings_model() -> type[BaseModel]:
    """Return the pydantic model of this plugin's settings.

    The kernel reads it from ``LYO_<NAME>__<FIELD>`` at load and stops start-up
    naming the variable when a value is invalid. The validated instance is
    ``kernel.settings_for(name)``.
    """


@hookspec
def models() -> Iterable[str]:
    """Return the modules holding this plugin's Tortoise models (``["lyo_x.models"]``).

    They form the Tortoise app named after the plugin; tables are named
    ``<plugin>_<model_in_snake_case>`` (a ``Meta.table`` must carry that prefix).
    Migrations live in ``<plugin package>/migrations/<plugin>/``: generate them with
    ``lyo makemigrations <plugin>``. Called once when the kernel starts.
    """


@hookspec
def tasks() -> Iterable[TaskSpec]:
    """Return this plugin's tasks, declared with :func:`kernel.task` and named
    ``<plugin>:<name>``. They are registered with the broker when the kernel starts
    (in the API, ``lyo worker`` and ``lyo scheduler``); start them with
    ``await kernel.tasks.enqueue(spec, owner=identity, **kwargs)``.
    """


@hookspec
def event_handlers() -> Iterable[Handler]:
    """Return this plugin's event handlers, made with :func:`kernel.on`
    (``@on("learning.lesson_completed.v1", id="<plugin>:<name>")``). Durable ones run
    as tasks, at least once, their effects once per (handler, event); in-process ones
    (``durable=False``) run after the publisher commits. Subscribing needs no
    dependency on the publisher: a type string is enough.
    """


@hookspec
def blueprints(kernel: Kernel) -> Iterable[Blueprint]:
    """Return the Quart blueprints serving this plugin's routes.

    Called once while the web app is built (never in workers or CLI commands).
    A blueprint without ``url_prefix`` is mounted at ``/api/<name>``; every route
    must lie under ``/api/<name>`` or a prefix the manifest claims.
    """


@hookspec
def startup(kernel: Kernel) -> None:
    """Prepare the plugin: open clients, warm caches, register circuit breakers.

    Runs in dependency order before the first request is served, and also in
    workers and CLI commands. Raising marks the plugin failed (its URLs answer
    503, its dependents are skipped) or, if it is required, stops start-up.
    """


@hookspec
def shutdown(kernel: Kernel) -> None:
    """Release what ``startup`` acquired. Runs in reverse dependency order."""


@hookspec
def health_checks(kernel: Kernel) -> Iterable[HealthCheck]:
    """Return checks for ``/health/ready``.

    Each check is a function (sync or async) that raises or returns ``False`` or a
    reason string when unhealthy. A failing ``required`` check makes readiness 503.
    """


@hookspec
def authenticate(credentials: Credentials, kernel: Kernel) -> Identity | None:
    """Turn presented credentials into an :class:`Identity`.

    Return ``None`` when the credentials are not yours to judge, so the next
    plugin may; raise :class:`kernel.Unauthorized` when they are yours and bad.
    Awaited in plugin order; the first non-``None`` answer wins. A plugin that only
    needs callers identified declares ``Manifest(needs=("authenticate",))`` rather
    than requiring ``auth`` by name: any usable plugin implementing this will do.
    """


@hookspec
def authorize_topic(identity: Identity, topic: str, kernel: Kernel) -> bool | None:
    """May ``identity`` subscribe to websocket ``topic``?

    Return ``True`` or ``False`` for topics this plugin owns (by convention those
    starting with ``<plugin>:``), ``None`` for the rest. Awaited in plugin order; the
    first non-``None`` answer wins and a topic nobody answers for is refused. Raise
    nothing: use :meth:`Identity.has` to check permissions.
    """


@hookspec
def permissions() -> Mapping[str, str | Permission]:
    """Declare the permissions this plugin checks, and which roles get them by default.

    ``{"name:action": "description"}``, or with the roles that get it by default,
    ``{"name:action": Permission("description", default_roles=("learner",))}``.

    Names must start with the plugin's name and a colon. The auth plugin grants each
    permission to its default roles (creating a role no one defined); the operator
    changes that per permission with ``LYO_AUTH__GRANTS='{"name:action": ["role"]}'``
    (``[]``: no role gets it by default).
    """


@hookspec
def cli_commands() -> Iterable[click.Command]:
    """Return click commands; they are mounted as ``lyo <plugin> <command>``.

    Use :func:`kernel.cli.with_kernel` for commands that need a started kernel.
    """


@hookspec
def export_user(user_id: str, kernel: Kernel) -> Mapping[str, Any] | None:
    """Return the personal data this plugin stores about user ``user_id``, as JSON.

    ``user_id`` is the text form of the id (``Identity.id``). Return a dict of JSON
    values (datetimes and UUIDs are fine) meant for the user to read: what they
    wrote, their settings, their history; never secrets such as password hashes.
    Return ``None`` (or nothing) when you store nothing about them. Every plugin that
    stores personal data implements it and ``erase_user``.

    Called by ``lyo users export ID`` (a CLI process with a started kernel), for each
    active plugin in load order; the answers are printed as one JSON object keyed by
    plugin name. A plugin that raises stops the export with its name: a partial
    export would look complete.
    """


@hookspec
def erase_user(user_id: str, kernel: Kernel) -> None:
    """Delete or anonymise the personal data this plugin stores about ``user_id``.

    ``user_id`` is the text form of the id (``Identity.id``); erasing twice, or a user
    you know nothing of, is harmless.

    Called by ``lyo users erase ID --yes`` for each active plugin in reverse load
    order (dependents before what they depend on), inside one database transaction
    shared by all plugins: write through the ORM (or ``kernel.transaction``), publish
    events with ``kernel.publish`` so they go out only if the whole erase commits, and
    defer anything outside the database (files, caches, other services) with
    ``kernel.after_commit``. If any plugin raises, nothing is erased anywhere and
    the command fails naming it. Keep what others still need (a published course)
    but detach it from the person.
    """


def hook_names() -> list[str]:
    """The names of every hook above, in declaration order."""
    return [name for name, value in globals().items() if _is_spec(value)]


def _is_spec(value: Any) -> bool:
    return callable(value) and hasattr(value, f"{PROJECT}_spec")
