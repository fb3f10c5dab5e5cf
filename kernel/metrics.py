"""Prometheus metrics. With ``PROMETHEUS_MULTIPROC_DIR`` set (``lyo serve --workers N``
sets it), every worker writes its samples there and ``/metrics`` merges them."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Histogram(
    "lyo_http_request_duration_seconds",
    "HTTP requests by method, route template and status; _count is the request count.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

HOOK_SECONDS = Histogram(
    "lyo_plugin_hook_seconds",
    "Time spent in each plugin's hook implementations.",
    ["plugin", "hook"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric, merged across worker processes if needed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
