"""Configuration: pydantic-settings with the ``LYO_`` prefix and ``__`` as nested delimiter.

Development needs no configuration at all. Staging and production refuse to start on
settings that are only fit for a laptop (see :meth:`Settings.problems`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kernel.errors import ConfigError

Environment = Literal["development", "test", "staging", "production"]


def _split_commas(value: Any) -> Any:
    """Accept ``a,b,c`` (and a JSON list) wherever a list of strings is expected."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


#: A list of strings that reads ``LYO_X=a,b`` as ``["a", "b"]``; plugin settings may use it.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]


class PluginSelection(BaseModel):
    """Which plugins load and which of them must start (``LYO_PLUGINS__*``)."""

    enabled: CommaList = Field(default_factory=list, description="Only these load, if set.")
    disabled: CommaList = Field(default_factory=list, description="These never load.")
    required: CommaList = Field(
        default_factory=list, description="Failure stops start-up (development and test)."
    )
    optional: CommaList = Field(
        default_factory=list, description="Failure is tolerated (staging and production)."
    )
    modules: CommaList = Field(
        default_factory=list,
        description="Plugin modules to load by import path, besides installed ones.",
    )


class WebsocketSettings(BaseModel):
    """``/ws`` (``LYO_WS__*``): the one definition of its options, which the endpoint
    (:mod:`kernel.web.ws`), ``lyo serve`` and :mod:`kernel.testing` all read."""

    origins: CommaList = Field(
        default_factory=list,
        description="Browser origins allowed; empty: LYO_CORS_ORIGINS. Same host always is.",
    )
    auth_timeout: float = Field(default=5, gt=0)
    idle_timeout: float = Field(default=60, gt=0)
    ping_interval: float = Field(default=20, gt=0)
    queue_size: int = Field(default=100, ge=1)
    recheck_interval: float = Field(default=30, gt=0)
    max_topics: int = Field(default=100, ge=1)
    close_timeout: float = Field(
        default=2, gt=0, description="How long a close frame may take to go out."
    )


class Settings(BaseSettings):
    """The kernel's settings. Every field reads ``LYO_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="LYO_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    env: Environment = "development"
    debug: bool = False
    secret_key: SecretStr | None = None
    database_url: str = "sqlite://./var/lyo.sqlite3"
    database_pool_size: int = Field(default=10, ge=1, le=500)
    redis_url: str | None = None
    redis_prefix: str = Field(
        default="lyo", pattern=r"^[A-Za-z0-9_.-]+$", description="Prefix of every Redis key."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "INFO"
    log_json: bool | None = Field(default=None, description="Default: JSON outside development.")
    access_log: bool = True
    docs: bool | None = Field(
        default=None, description="Serve /docs; default: not in staging or production."
    )
    cors_origins: CommaList = Field(default_factory=list)
    cors_credentials: bool = False
    proxy_hops: int = Field(
        default=0,
        ge=0,
        description="Reverse proxies in front: client address and scheme come from their "
        "X-Forwarded-* headers (0: trust no such header).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token for /metrics and /-/plugins (a scraper's), which staging "
        "and production otherwise show only to callers with permission kernel:operate.",
    )
    trusted_hosts: CommaList = Field(default_factory=lambda: ["*"])
    media_root: str = Field(default="./var/media", description="Where uploads are stored.")
    media_url: str = Field(default="/media", description="URL prefix uploads are served at.")
    max_body_size: int = Field(default=10 * 1024 * 1024, gt=0)
    gzip_min_size: int = Field(default=1024, ge=0)
    max_json_depth: int = Field(
        default=64, ge=1, le=500, description="Deepest nesting a JSON request body may have."
    )
    task_lease: float = Field(
        default=30.0, gt=0, description="Seconds a worker's claim on a running task lasts."
    )
    task_limits: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Runs per owner queued or running at once, by task name (JSON: "
        '{"ai:generate_course": 2}); overrides the task\'s max_per_owner.',
    )
    worker_concurrency: int = Field(default=10, ge=1, description="Tasks a worker runs at once.")
    retention_days: float = Field(
        default=14, gt=0, description="Finished tasks, delivered events, dead letters kept."
    )
    hook_timeout: float = Field(default=30.0, gt=0, description="Seconds a startup hook may take.")
    plugins: PluginSelection = Field(default_factory=PluginSelection)
    ws: WebsocketSettings = Field(default_factory=WebsocketSettings)

    @property
    def is_production_like(self) -> bool:
        return self.env in ("staging", "production")

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env != "development"

    @property
    def docs_enabled(self) -> bool:
        return self.docs if self.docs is not None else not self.is_production_like

    def problems(self) -> list[str]:
        """What makes these settings unfit for their environment; empty when fine."""
        if not self.is_production_like:
            return []
        found = []
        if self.database_url.startswith("sqlite"):
            found.append("LYO_DATABASE_URL is SQLite; set a postgres:// URL")
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(key) < 32:
            found.append("LYO_SECRET_KEY is missing or shorter than 32 characters")
        if self.debug:
            found.append("LYO_DEBUG is on; unset it")
        if "*" in self.cors_origins and self.cors_credentials:
            found.append(
                "LYO_CORS_ORIGINS is '*' with LYO_CORS_CREDENTIALS on; list the origins instead"
            )
        if not self.redis_url:
            found.append("LYO_REDIS_URL is not set; processes cannot share state without Redis")
        return found

    def check(self) -> None:
        """Raise :class:`ConfigError` listing every problem found by :meth:`problems`."""
        found = self.problems()
        if found:
            raise ConfigError(f"refusing to start in {self.env}:\n  - " + "\n  - ".join(found))


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; a bad value raises :class:`ConfigError` naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, "LYO_")) from None


def describe_validation_error(exc: ValidationError, prefix: str) -> str:
    """One line per bad value, named as the environment variable that sets it."""
    lines = []
    for error in exc.errors():
        name = prefix + "__".join(str(part) for part in error["loc"]).upper()
        lines.append(f"{name}: {error['msg']}")
    return "invalid configuration:\n  - " + "\n  - ".join(lines)


def unknown_plugin_variables(
    plugin: str, model: type[BaseModel] | None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """``LYO_<PLUGIN>__*`` variables naming no field of ``model`` (a typo, or a setting
    the installed version does not have), sorted; every one when ``model`` is ``None``."""
    prefix = f"LYO_{plugin.upper()}__"
    fields: set[str] = set()
    for name, info in model.model_fields.items() if model is not None else ():
        fields.add(name.lower())
        if isinstance(info.alias, str):
            fields.add(info.alias.lower())
    found = os.environ if environ is None else environ
    return sorted(
        key
        for key in found
        if key.upper().startswith(prefix)
        and key[len(prefix) :].split("__", 1)[0].lower() not in fields
    )


def load_plugin_settings(plugin: str, model: type[BaseModel]) -> BaseModel:
    """Validate ``model`` from ``LYO_<PLUGIN>__*``; a bad value raises ``ConfigError``."""
    prefix = f"LYO_{plugin.upper()}__"
    config = SettingsConfigDict(env_prefix=prefix, env_nested_delimiter="__", extra="ignore")
    bases: tuple[type, ...] = (model,) if issubclass(model, BaseSettings) else (model, BaseSettings)
    reader = type(model.__name__, bases, {"model_config": {**model.model_config, **config}})
    try:
        return reader()  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ConfigError(f"plugin {plugin!r}: " + describe_validation_error(exc, prefix)) from None
