"""Errors: one root, :class:`KernelError`, each subclass an HTTP problem (RFC 9457).

Raise these from routes, hooks and tasks; the kernel answers them as
``application/problem+json``. Anything else that escapes a route is a 500 whose
details are logged, and shown only outside production.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


class KernelError(Exception):
    """Root of every error the kernel knows how to answer.

    ``status``, ``title`` and ``type`` are class attributes a subclass overrides;
    ``detail`` and any ``extra`` members are per instance.
    """

    status: int = 500
    title: str = "Internal Server Error"
    type: str = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The problem document's members, without ``instance`` and ``request_id``."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def _problem_type(slug: str) -> str:
    return f"urn:lyo:problem:{slug}"


class ConfigError(KernelError):
    """Configuration is invalid or unfit for the environment; start-up stops."""

    title = "Invalid configuration"
    type = _problem_type("config")


class PluginError(KernelError):
    """A plugin cannot be loaded: missing dependency, cycle, clash. Start-up stops."""

    title = "Plugin error"
    type = _problem_type("plugin")


class BadRequest(KernelError):
    status, title = 400, "Bad Request"


class Unauthorized(KernelError):
    status, title, type = 401, "Unauthorized", _problem_type("unauthorized")

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail or "Authentication is required.", **kwargs)


class Forbidden(KernelError):
    status, title, type = 403, "Forbidden", _problem_type("forbidden")


class NotFound(KernelError):
    status, title = 404, "Not Found"


class Conflict(KernelError):
    status, title, type = 409, "Conflict", _problem_type("conflict")


class PayloadTooLarge(KernelError):
    status, title = 413, "Content Too Large"


class UnsupportedMediaType(KernelError):
    status, title = 415, "Unsupported Media Type"


class ValidationFailed(KernelError):
    """422 with ``errors``: one ``{pointer, detail}`` per field at fault."""

    status, title, type = 422, "Unprocessable Content", _problem_type("validation")

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        fields = ", ".join(e["pointer"] or "/" for e in errors)
        super().__init__(detail or f"Invalid value at {fields}.", errors=errors)

    @classmethod
    def from_pydantic(cls, exc: Exception, source: str = "") -> ValidationFailed:
        """A 422 with one ``{pointer, detail, type}`` per pydantic error; ``source``
        prefixes the pointers (``/query``). Any other exception becomes one error."""
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            return cls([{"pointer": source or "/", "detail": str(exc), "type": "invalid"}])
        return cls(
            [
                {
                    "pointer": source + "".join(f"/{part}" for part in error["loc"]),
                    "detail": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors(include_url=False)
            ]
        )

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        """A 422 for one top-level field of the request body."""
        return cls([{"pointer": f"/{name}", "detail": message}])


class TooManyRequests(KernelError):
    status, title, type = 429, "Too Many Requests", _problem_type("rate-limited")

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(detail, headers=headers)


class ServiceUnavailable(KernelError):
    status, title, type = 503, "Service Unavailable", _problem_type("unavailable")


class PluginUnavailable(ServiceUnavailable):
    """The plugin that owns this URL failed or is skipped."""

    type = _problem_type("plugin-unavailable")


class CircuitOpen(ServiceUnavailable):
    """A circuit breaker is open: calls fail fast until its cool-down ends."""

    type = _problem_type("circuit-open")


def status_problem(status: int, detail: str | None = None) -> KernelError:
    """A plain ``about:blank`` problem for an HTTP status (404, 405, ...)."""
    error = KernelError(detail)
    error.status = status
    error.title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    error.detail = detail or error.title
    return error
