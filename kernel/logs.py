"""Logging through structlog: JSON lines outside development, readable lines in it.

The request id is bound with structlog's context variables, so every line logged
while serving a request (an unexpected exception's traceback included) carries it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog


def access_writer(json: bool, level: str = "INFO") -> Callable[[dict[str, Any]], None] | None:
    """How the middleware writes its access line (``None``: not at this level): one
    JSON line straight to stderr when logs are JSON (a few microseconds, where
    structlog's processor chain takes about twelve per request), through structlog
    otherwise. Same fields either way."""
    if logging.getLevelName(level.upper()) > logging.INFO:
        return None
    logger = structlog.get_logger("lyo.access")
    if not json:
        return lambda fields: logger.info("request", **fields)
    write = sys.stderr.write
    second = [0, ""]  # the ISO prefix of the current second, computed once a second

    def write_line(fields: dict[str, Any]) -> None:
        now = time.time()
        whole = int(now)
        if whole != second[0]:
            second[:] = [whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
        stamp = f"{second[1]}.{int((now - whole) * 1e6):06d}Z"
        line = {"event": "request", "level": "info", "timestamp": stamp, **fields}
        write(orjson.dumps(line).decode() + "\n")

    return write_line


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Configure structlog and route the standard library's logging through it."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our middleware writes the access log; hypercorn's would duplicate it.
    logging.getLogger("hypercorn.access").disabled = True
    logging.getLogger("hypercorn.error").propagate = False
