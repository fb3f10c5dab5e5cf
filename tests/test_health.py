"""Health, metrics, circuit breakers and the degraded state."""

from __future__ import annotations

import asyncio

import pytest

from kernel import CircuitBreaker, CircuitOpen, HealthCheck, Kernel, Settings, create_app
from kernel.testing import make_plugin


def checks_plugin(*checks: HealthCheck) -> object:
    return make_plugin("checks", health_checks=lambda kernel: list(checks))


async def ready(app_plugins: list[object]) -> tuple[int, dict]:  # type: ignore[type-arg]
    app = create_app(Settings(env="test", access_log=False), app_plugins, discover=False)
    async with app.test_app():
        response = await app.test_client().get("/health/ready")
        return response.status_code, await response.get_json()


async def test_ready_reports_each_check_with_latency() -> None:
    async def slow_ok() -> bool:
        await asyncio.sleep(0.01)
        return True

    status, body = await ready([checks_plugin(HealthCheck("db", slow_ok))])
    assert status == 200 and body["status"] == "ok"
    check = next(c for c in body["checks"] if c["name"] == "checks:db")
    assert check["status"] == "ok" and check["latency_ms"] >= 10


@pytest.mark.parametrize(
    "check",
    [lambda: False, lambda: "disk full", lambda: 1 / 0],
    ids=["false", "reason", "raises"],
)
async def test_a_failing_required_check_makes_ready_503(check: object) -> None:
    status, body = await ready([checks_plugin(HealthCheck("x", check))])  # type: ignore[arg-type]
    assert status == 503 and body["status"] == "failing"


async def test_a_failing_optional_check_does_not() -> None:
    status, body = await ready([checks_plugin(HealthCheck("x", lambda: False, required=False))])
    assert status == 200 and body["status"] == "degraded"


async def test_a_hanging_check_times_out() -> None:
    async def hang() -> None:
        await asyncio.sleep(10)

    status, body = await ready([checks_plugin(HealthCheck("hang", hang, timeout=0.05))])
    assert status == 503
    assert "timed out" in next(c for c in body["checks"] if c["name"] == "checks:hang")["detail"]


async def test_degraded_plugin_is_visible_and_keeps_serving() -> None:
    async def startup(kernel: Kernel) -> None:
        kernel.set_degraded("model", "weights missing")

    app = create_app(
        Settings(env="test", access_log=False),
        [make_plugin("model", startup=startup)],
        discover=False,
    )
    async with app.test_app():
        client = app.test_client()
        body = await (await client.get("/health/ready")).get_json()
        plugin_check = next(c for c in body["checks"] if c["name"] == "plugin:model")
        assert plugin_check == {**plugin_check, "status": "degraded", "detail": "weights missing"}
        listing = await (await client.get("/-/plugins")).get_json()
        assert listing["plugins"][0]["degraded"] == "weights missing"
        summary = await (await client.get("/health")).get_json()
        assert summary["plugins"] == {"model": "degraded"}


async def test_live_and_summary() -> None:
    app = create_app(Settings(env="test", access_log=False), [], discover=False)
    async with app.test_app():
        client = app.test_client()
        assert await (await client.get("/health/live")).get_json() == {"status": "ok"}
        summary = await (await client.get("/health")).get_json()
        assert summary["status"] == "ok" and summary["env"] == "test"


async def test_metrics_count_requests_by_route_and_status() -> None:
    app = create_app(Settings(env="test", access_log=False), [], discover=False)
    async with app.test_app():
        client = app.test_client()
        await client.get("/health/live")
        await client.get("/missing")
        text = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'route="/health/live",status="200"' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "lyo_http_request_duration_seconds_bucket" in text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("fcm", failure_threshold=2, reset_timeout=10, clock=clock)

    async def fail() -> None:
        raise ConnectionError("down")

    async def succeed() -> str:
        return "ok"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as info:
        await breaker.call(succeed)
    assert info.value.status == 503 and "Retry-After" in info.value.headers
    clock.now = 10
    assert breaker.state == "half_open"
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state == "open"  # a failed trial opens it again at once
    clock.now = 20
    assert await breaker.call(succeed) == "ok"
    assert breaker.state == "closed" and breaker.failures == 0


async def test_breakers_show_in_the_plugin_list() -> None:
    async def startup(kernel: Kernel) -> None:
        breaker = kernel.circuit_breaker("push", "fcm", failure_threshold=1)
        breaker.record_failure("HTTP 502")

    app = create_app(
        Settings(env="test", access_log=False),
        [make_plugin("push", startup=startup)],
        discover=False,
    )
    async with app.test_app():
        listing = await (await app.test_client().get("/-/plugins")).get_json()
    breaker = listing["plugins"][0]["circuit_breakers"][0]
    assert breaker["name"] == "push:fcm" and breaker["state"] == "open"
    assert breaker["last_error"] == "HTTP 502"
