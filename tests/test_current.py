"""kernel.current() and PluginHandle: one way for plugin code to reach the running kernel."""

from __future__ import annotations

import contextvars
import sys

import pytest
from quart import Blueprint

import kernel
from kernel import App, Kernel, PluginHandle, hookimpl

handle = PluginHandle("probe")


class Probe:
    @hookimpl
    def manifest(self) -> kernel.Manifest:
        return kernel.Manifest(name="probe", version="1.0")

    @hookimpl
    def blueprints(self) -> list[Blueprint]:
        bp = Blueprint("probe", __name__, url_prefix="/api/probe")

        @bp.get("/")
        async def look() -> dict[str, object]:
            running = kernel.current()
            await handle.cache.set("seen", 1)
            return {
                "same": running is handle.kernel,
                "cached": await running.cache.for_plugin("probe").get("seen"),
                "settings": handle.settings,
            }

        return [bp]


def test_current_before_any_kernel_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    # as in a fresh process: no kernel started, nothing activated in this context
    monkeypatch.setattr(sys.modules["kernel.current"], "_process", [])

    def look() -> None:
        with pytest.raises(RuntimeError, match="after start-up"):
            kernel.current()

    contextvars.Context().run(look)


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [Probe()]


async def test_a_route_reaches_the_kernel_through_current_and_the_handle(
    lyo_app: App, lyo_client: object
) -> None:
    response = await lyo_client.get("/api/probe/")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert await response.get_json() == {"same": True, "cached": 1, "settings": None}
    assert kernel.current() is lyo_app.kernel  # the started kernel is the process's
    handle.set_degraded("testing")
    assert lyo_app.kernel.plugins["probe"].degraded == "testing"
    assert handle.breaker("upstream") is lyo_app.kernel.circuit_breaker("probe", "upstream")
    assert isinstance(lyo_app.kernel, Kernel)
