"""The database: one Tortoise ORM context shared by the kernel and every plugin.

Each plugin's models form a Tortoise app labelled with the plugin's name, and their
tables are prefixed with it (``learning_course``); the kernel's own app is ``kernel``.
All apps share one connection, so one transaction can span plugins.

Tortoise 1.x keeps its state in a context variable: initialised in one task (say the
server's lifespan task), it is invisible to request handlers, which then fail with
"No TortoiseContext is currently active". :meth:`Database.activate` makes the context
current; the kernel calls it where work starts (each request and websocket in the
middleware, the worker's and CLI's main task), so every task spawned from there sees it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import structlog
from tortoise import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext, _current_context
from tortoise.models import Model
from tortoise.transactions import in_transaction

from kernel.errors import ConfigError, Conflict, KernelError, PluginError, ValidationFailed

log = structlog.get_logger("lyo.db")

KERNEL_APP = "kernel"
KERNEL_MODELS = ["kernel.data.models", "aerich.models"]
#: Tables that keep the name their library gives them.
FOREIGN_TABLES = frozenset({"aerich"})

P = ParamSpec("P")
R = TypeVar("R")

_transaction: contextvars.ContextVar[BaseDBAsyncClient | None] = contextvars.ContextVar(
    "lyo_transaction", default=None
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def prepare_models(app: str, modules: Iterable[str]) -> list[type[Model]]:
    """Import ``modules`` and give their models ``<app>_<snake_name>`` tables.

    A model that names its own table must use the prefix; a clash raises PluginError.
    """
    found: list[type[Model]] = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if not (isinstance(value, type) and issubclass(value, Model) and value is not Model):
                continue
            if value.__module__ != module_name or value._meta.abstract:
                continue
            meta = value._meta
            if not meta.db_table:
                meta.db_table = f"{app}_{_snake(value.__name__)}"
            elif meta.db_table not in FOREIGN_TABLES and not meta.db_table.startswith(f"{app}_"):
                raise PluginError(
                    f"plugin {app!r}: model {value.__name__} uses table {meta.db_table!r}; "
                    f"tables must start with '{app}_' (or leave Meta.table unset)"
                )
            found.append(value)
    return found


def tortoise_config(url: str, apps: dict[str, list[str]], pool_size: int = 10) -> dict[str, Any]:
    """The Tortoise config for ``url`` with one app per entry of ``apps``."""
    if url.startswith("sqlite://") and url not in ("sqlite://:memory:",):
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = expand_db_url(url)
    except Exception as exc:
        raise ConfigError(f"LYO_DATABASE_URL {url!r} is not a database URL: {exc}") from None
    if "postgres" in connection["engine"] or "asyncpg" in connection["engine"]:
        connection["credentials"].setdefault("minsize", 1)
        connection["credentials"].setdefault("maxsize", pool_size)
        connection["credentials"].setdefault("reset", _keep_session)
        # Every statement is planned with its parameters, as with psycopg's client-side
        # parameters (Django). asyncpg prepares and caches every statement, and after five
        # runs PostgreSQL may switch to a generic plan and keep it: made while a table was
        # small, one that scans it stays cached as it grows (the task table's batched
        # UPDATE ... FROM unnest(...) went from an index lookup to a full scan per
        # statement; asyncpg#243 is the same trap).
        settings = connection["credentials"].setdefault("server_settings", {})
        settings.setdefault("plan_cache_mode", "force_custom_plan")
    # Tortoise caches compiled queries per (connection name, table) for the process: a
    # name per dialect keeps a SQLite context and a PostgreSQL one from sharing them.
    alias = "sqlite" if "sqlite" in connection["engine"] else "postgres"
    return {
        "connections": {alias: connection},
        "apps": {
            name: {"models": models, "default_connection": alias} for name, models in apps.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def _keep_session(connection: Any) -> None:
    """The pool's reset on release. asyncpg rolls back an open transaction itself; its
    default reset adds a round trip per statement (``RESET ALL; UNLISTEN *; CLOSE ALL;
    pg_advisory_unlock_all()``) for session state pooled connections never take here:
    advisory locks and LISTEN use :func:`connect_raw`."""


async def connect_raw(url: str) -> Any:
    """A plain asyncpg connection to the database of a Tortoise URL (``postgres://``,
    ``postgresql://`` or ``asyncpg://``, pool options ignored), for what the ORM
    cannot do: advisory locks, LISTEN/NOTIFY."""
    import asyncpg  # type: ignore[import-untyped]

    credentials = expand_db_url(url)["credentials"]
    return await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
    )


class Database:
    """The Tortoise context of one process."""

    def __init__(self, url: str, apps: dict[str, list[str]], pool_size: int = 10) -> None:
        self.url = url
        self.apps = {KERNEL_APP: KERNEL_MODELS, **apps}
        self.config = tortoise_config(url, self.apps, pool_size)
        self.context = TortoiseContext()

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgres"

    async def open(self, *, create_schema: bool = False) -> None:
        """Connect; with ``create_schema`` create missing tables from the models (SQLite)."""
        for app, modules in self.apps.items():
            prepare_models(app, [m for m in modules if m != "aerich.models"])
        with self.context:
            await self.context.init(config=self.config)
            if create_schema:
                await self.context.generate_schemas(safe=True)
        self.activate()

    def activate(self) -> contextvars.Token[TortoiseContext | None]:
        """Make this database current in the running context (and tasks it spawns)."""
        return _current_context.set(self.context)

    async def close(self) -> None:
        await self.context.close_connections()

    def connection(self) -> BaseDBAsyncClient:
        return self.context.db()

    async def ping(self) -> None:
        """Health check: a trivial query."""
        await self.connection().execute_query("SELECT 1")


_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[Any]]] | None] = (
    contextvars.ContextVar("lyo_after_commit", default=None)
)


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction (a savepoint when nested): committed if the block succeeds, rolled
    back if it raises. Events published inside it are written in it (the outbox), and
    :func:`after_commit` callbacks run once the outermost block has committed."""
    parent = _after_commit.get()
    callbacks: list[Callable[[], Awaitable[Any]]] = []
    callbacks_token = _after_commit.set(callbacks)
    try:
        async with _in_transaction() as connection:
            token = _transaction.set(connection)
            try:
                yield connection
            finally:
                _transaction.reset(token)
    finally:
        _after_commit.reset(callbacks_token)
    if parent is not None:
        parent.extend(callbacks)  # a savepoint: wait for the outer commit
        return
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # committed is committed: one failing callback skips no other
            log.exception("after-commit callback failed")


@asynccontextmanager
async def _in_transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """Tortoise's ``in_transaction()``, except that a BEGIN that fails leaves nothing
    behind. Tortoise 1.1 makes its transaction client the task's current connection
    (and holds a pooled connection) before it sends BEGIN, and only its ``__aexit__``
    undoes that, which ``async with`` skips when ``__aenter__`` raises. A pooled
    connection the server had closed, unnoticed yet (PostgreSQL restarted), then left
    a long-lived task (the outbox relay, the reaper) failing every later transaction
    for good: "connection has been released back to the pool"."""
    context = in_transaction()
    try:
        connection = await context.__aenter__()
    except BaseException as exc:
        if getattr(context, "token", None) is not None:  # it got as far as BEGIN
            with contextlib.suppress(Exception):  # the rollback fails; the rest is done
                await context.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    try:
        yield connection
    except BaseException as exc:
        await context.__aexit__(type(exc), exc, exc.__traceback__)  # never swallows it
        raise
    else:
        await context.__aexit__(None, None, None)


async def after_commit(callback: Callable[[], Awaitable[Any]]) -> None:
    """Run ``callback`` once the current transaction commits (now, outside one);
    never if it rolls back. For side effects other processes must not see early,
    such as sending a task message about rows written in the transaction."""
    callbacks = _after_commit.get()
    if callbacks is None:
        await callback()
    else:
        callbacks.append(callback)


@asynccontextmanager
async def orm_errors() -> AsyncIterator[None]:
    """Around plain asyncpg calls on the ORM's connections: raise asyncpg's errors as
    Tortoise does, so they map to the same problems (409/422/503, not a bare 500)."""
    import asyncpg  # type: ignore[import-untyped]
    from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

    try:
        yield
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
        raise OperationalError(exc) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc
    except asyncpg.InvalidTransactionStateError as exc:
        raise TransactionManagementError(exc) from exc


def current_transaction() -> BaseDBAsyncClient | None:
    """The connection of the innermost :func:`transaction` block, if inside one."""
    return _transaction.get()


def atomic(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run a coroutine function (a route, a task) in one :func:`transaction`."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        async with transaction():
            return await func(*args, **kwargs)

    return wrapper


_KEY_FIELDS = re.compile(r"Key \(([^)]+)\)")
_SQLITE_FIELD = re.compile(r"constraint failed: (?:\w+\.)?(\w+)")


def integrity_problem(exc: BaseException) -> KernelError:
    """Turn a database integrity error into a problem naming the field at fault:
    unique violation → 409, foreign key / not null / check → 422."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    kind = type(cause).__name__
    text = str(cause)
    key = _KEY_FIELDS.search(getattr(cause, "detail", None) or "")
    fields = [f.strip().strip('"') for f in key.group(1).split(",")] if key else []
    column = getattr(cause, "column_name", None)
    if not fields and column:
        fields = [column]
    if not fields and (match := _SQLITE_FIELD.search(text)):
        fields = [match.group(1)]
    constraint = getattr(cause, "constraint_name", None)
    where = ", ".join(fields) or constraint or "a field"
    if "Unique" in kind or "UNIQUE" in text or "unique" in text:
        return Conflict(f"A record with this {where} already exists.", field=where)
    if "ForeignKey" in kind or "FOREIGN KEY" in text or "foreign key" in text:
        detail = f"{where} refers to a record that does not exist."
    elif "NotNull" in kind or "NOT NULL" in text or "null value" in text:
        detail = f"{where} is required."
    elif "Check" in kind or "CHECK" in text or "check constraint" in text:
        detail = f"{where} is out of range ({constraint or 'check constraint'})."
    else:
        detail = "The data violates a database constraint."
    return ValidationFailed(
        [{"pointer": f"/{f}", "detail": detail} for f in fields or [""]], detail
    )
