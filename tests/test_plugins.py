"""Plugin loading: discovery, checks, order, isolation and the plugin list."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Blueprint

from kernel import Kernel, Manifest, PluginError, Settings, create_app
from kernel.testing import make_plugin


def kernel_with(*plugins: object, **settings: object) -> Kernel:
    return Kernel.load(Settings(env="test", **settings), plugins, discover=False)


def test_load_order_is_topological_and_stable() -> None:
    a = make_plugin("a", manifest=Manifest(name="a", requires={"c": ">=1"}))
    b = make_plugin("b")
    c = make_plugin("c", version="1.2.0")
    kernel = kernel_with(a, b, c)
    assert list(kernel.plugins) == ["b", "c", "a"]


@pytest.mark.parametrize(
    ("plugins", "message"),
    [
        ([make_plugin("a", manifest=Manifest(name="a", requires={"zz": ""}))], "requires 'zz'"),
        (
            [
                make_plugin("a", manifest=Manifest(name="a", requires={"b": ">=2"})),
                make_plugin("b"),
            ],
            "requires 'b' >=2, but 0.1.0 is installed",
        ),
        (
            [
                make_plugin("a", manifest=Manifest(name="a", requires={"b": ""})),
                make_plugin("b", manifest=Manifest(name="b", requires={"a": ""})),
            ],
            "cycle",
        ),
        ([make_plugin("a"), make_plugin("a")], "installed twice"),
        ([make_plugin("health")], "reserved"),
        ([make_plugin("Bad-Name")], "not a plugin name"),
        ([make_plugin("a", manifest=Manifest(name="a", kernel=">=9"))], "needs kernel >=9"),
        (
            [
                make_plugin("auth", manifest=Manifest(name="auth", url_prefixes=["/api/people"])),
                make_plugin("people"),
            ],
            "clashes with /api/people of plugin 'auth'",
        ),
        ([make_plugin("a", startp=lambda kernel: None)], "unknown hook"),
    ],
    ids=[
        "missing",
        "version",
        "cycle",
        "duplicate",
        "reserved",
        "name",
        "kernel",
        "prefix",
        "hook",
    ],
)
def test_bad_setups_stop_with_one_clear_message(plugins: list[object], message: str) -> None:
    with pytest.raises(PluginError) as info:
        kernel_with(*plugins)
    assert message in info.value.detail


def test_misspelled_hook_names_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"plugin 'a'.*startp"):
        kernel_with(make_plugin("a", startp=lambda kernel: None))


def test_explicit_plugin_needs_a_name() -> None:
    with pytest.raises(PluginError, match="has no name"):
        kernel_with(make_plugin("a", manifest=Manifest()))


def test_enabled_and_disabled_select_plugins() -> None:
    a, b = make_plugin("a"), make_plugin("b")
    kernel = kernel_with(a, b, plugins={"disabled": ["a"]})
    assert kernel.plugin("a").state == "disabled"
    kernel = kernel_with(a, b, plugins={"enabled": ["a"]})
    assert kernel.plugin("b").state == "disabled"
    with pytest.raises(PluginError, match="not installed"):
        kernel_with(a, plugins={"enabled": ["nope"]})


def test_comma_separated_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_PLUGINS__DISABLED", "a, b")
    assert Settings().plugins.disabled == ["a", "b"]


def test_dependents_of_a_disabled_plugin_are_skipped() -> None:
    a = make_plugin("a", manifest=Manifest(name="a", requires={"b": ""}))
    kernel = kernel_with(a, make_plugin("b"), plugins={"disabled": ["b"]})
    assert kernel.plugin("a").state == "skipped"
    assert "'b', which is disabled" in (kernel.plugin("a").error or "")


def bp_plugin(name: str, *, fail_startup: bool = False, **extra: object) -> object:
    bp = Blueprint(name, __name__)

    @bp.get("/ping")
    async def ping() -> dict[str, str]:
        return {"plugin": name}

    async def startup(kernel: Kernel) -> None:
        if fail_startup:
            raise RuntimeError("boom at startup")

    return make_plugin(name, blueprints=lambda kernel: [bp], startup=startup, **extra)


async def test_startup_failure_is_isolated() -> None:
    bad = bp_plugin("bad", fail_startup=True)
    child = bp_plugin("child", manifest=Manifest(name="child", requires={"bad": ""}))
    good = bp_plugin("good")
    app = create_app(Settings(env="test"), [bad, child, good], discover=False)
    async with app.test_app():
        client = app.test_client()
        response = await client.get("/api/good/ping")
        assert response.status_code == 200
        for path, state in [("/api/bad/ping", "failed"), ("/api/child/ping", "skipped")]:
            response = await client.get(path)
            assert response.status_code == 503
            assert response.content_type == "application/problem+json"
            body = await response.get_json()
            assert body["status"] == 503 and state in body["detail"]
        listing = await (await client.get("/-/plugins")).get_json()
        states = {p["name"]: p for p in listing["plugins"]}
        assert states["bad"]["state"] == "failed"
        assert "boom at startup" in states["bad"]["error"]
        assert states["child"]["state"] == "skipped"
        assert states["good"]["state"] == "active"
        assert states["good"]["routes"] == ["GET /api/good/ping"]
        assert "startup" in states["good"]["hooks"]
        ready = await client.get("/health/ready")
        assert ready.status_code == 200  # nothing failed was required


async def test_required_plugin_failure_stops_startup() -> None:
    app = create_app(
        Settings(env="test", plugins={"required": ["bad"]}),
        [bp_plugin("bad", fail_startup=True)],
        discover=False,
    )
    with pytest.raises(Exception, match="required plugin 'bad' failed to start"):
        async with app.test_app():
            pass


async def test_production_requires_every_plugin_unless_optional(production: Any) -> None:
    app = create_app(production(), [bp_plugin("bad", fail_startup=True)], discover=False)
    with pytest.raises(Exception, match="required plugin 'bad'"):
        async with app.test_app():
            pass
    settings = production(plugins={"optional": ["bad"]})
    app = create_app(settings, [bp_plugin("bad", fail_startup=True)], discover=False)
    async with app.test_app():
        assert app.kernel.plugin("bad").state == "failed"


def test_routes_outside_the_plugins_prefix_are_refused() -> None:
    bp = Blueprint("rogue", __name__, url_prefix="/api/other")
    bp.add_url_rule("/x", view_func=lambda: "x")
    plugin = make_plugin("rogue", blueprints=lambda kernel: [bp])
    with pytest.raises(PluginError, match="outside its URL prefixes"):
        create_app(Settings(env="test"), [plugin], discover=False)


async def test_import_failure_of_an_entry_point_is_isolated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import EntryPoint

    from kernel.plugins import loading as plugins_module

    broken = EntryPoint("broken", "kernel_test_missing_module:plugin", "lyo.plugins")
    monkeypatch.setattr(plugins_module, "discover", lambda group="": [broken])
    app = create_app(Settings(env="test"), discover=True)
    async with app.test_app():
        plugin = app.kernel.plugin("broken")
        assert plugin.state == "failed"
        assert "ModuleNotFoundError" in (plugin.error or "")
        response = await app.test_client().get("/api/broken/anything")
        assert response.status_code == 503
    with pytest.raises(PluginError, match="required plugin 'broken' failed to import"):
        create_app(Settings(env="test", plugins={"required": ["broken"]}), discover=True)


async def test_hooks_may_be_sync_or_async_and_are_timed() -> None:
    calls: list[str] = []

    def sync_startup(kernel: Kernel) -> None:
        calls.append("sync")

    async def async_shutdown(kernel: Kernel) -> None:
        calls.append("async")

    app = create_app(
        Settings(env="test"),
        [make_plugin("timed", startup=sync_startup, shutdown=async_shutdown)],
        discover=False,
    )
    async with app.test_app():
        metrics = await (await app.test_client().get("/metrics")).get_data(as_text=True)
    assert calls == ["sync", "async"]
    assert 'lyo_plugin_hook_seconds_count{hook="startup",plugin="timed"}' in metrics


def test_plugin_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel

    class Model(BaseModel):
        limit: int = 3
        tags: list[str] = []

    plugin = make_plugin("demo", settings_model=lambda: Model)
    monkeypatch.setenv("LYO_DEMO__LIMIT", "7")
    assert kernel_with(plugin).settings_for("demo").limit == 7
    monkeypatch.setenv("LYO_DEMO__LIMIT", "many")
    with pytest.raises(Exception, match="LYO_DEMO__LIMIT"):
        kernel_with(plugin)


def test_permissions_must_be_namespaced() -> None:
    good = make_plugin("demo", permissions=lambda: {"demo:read": "Read demos"})
    declared = kernel_with(good).permissions
    assert declared.pop("kernel:operate")  # the kernel's own
    assert declared == {"demo:read": "Read demos"}
    bad = make_plugin("demo", permissions=lambda: {"read": "Read"})
    with pytest.raises(PluginError, match="must start with 'demo:'"):
        kernel_with(bad)


def test_permissions_may_name_their_default_roles() -> None:
    from kernel import Permission

    plugin = make_plugin(
        "demo",
        permissions=lambda: {
            "demo:read": Permission("Read demos", default_roles=("learner", "instructor")),
            "demo:post": Permission("Post", default_roles="learner"),  # a lone string
            "demo:admin": "Administer",
        },
    )
    kernel = kernel_with(plugin)
    assert kernel.permissions == {
        "kernel:operate": kernel.permissions["kernel:operate"],
        "demo:read": "Read demos",
        "demo:post": "Post",
        "demo:admin": "Administer",
    }
    assert kernel.permission_defaults == {
        "demo:read": ("learner", "instructor"),
        "demo:post": ("learner",),
    }
    odd = make_plugin("demo", permissions=lambda: {"demo:read": ["learner"]})
    with pytest.raises(PluginError, match=r"kernel.Permission\(description"):
        kernel_with(odd)


def test_a_misspelled_hook_gets_a_did_you_mean() -> None:
    plugin = make_plugin("demo", event_handler=lambda: [])
    with pytest.raises(PluginError, match=r"`event_handler`.*did you mean `event_handlers`\?"):
        kernel_with(plugin)


@pytest.mark.parametrize("option", ["tryfirst", "trylast", "wrapper", "hookwrapper"])
def test_hookimpl_options_the_kernel_cannot_honour_are_refused(option: str) -> None:
    """The kernel calls hooks itself, in plugin order: pluggy's ordering and wrapping
    options would be ignored silently, so loading refuses them, naming plugin and hook."""
    from types import SimpleNamespace

    from kernel import hookimpl

    def startup(kernel: Kernel) -> Any:  # a generator: what wrappers must be
        yield

    plugin = SimpleNamespace(
        manifest=hookimpl(lambda: Manifest(name="demo")),
        startup=hookimpl(**{option: True})(startup),
    )
    with pytest.raises(PluginError) as info:
        kernel_with(plugin)
    assert info.value.detail == (
        f"plugin 'demo': hook `startup` is marked @hookimpl({option}=True); the kernel calls "
        "hooks in plugin order (requires); tryfirst/trylast/wrapper are not supported: "
        "drop the option"
    )


def test_a_plugin_may_need_a_capability_instead_of_a_plugin_by_name() -> None:
    """``needs=("authenticate",)``: any usable plugin implementing the hook will do
    (here kernel.testing's token_plugin, no ``auth``); without one the plugin, and
    what requires it, is skipped with a message saying what is missing."""
    from kernel.testing import token_plugin

    grades = make_plugin("grades", manifest=Manifest(name="grades", needs=("authenticate",)))
    report = make_plugin("report", manifest=Manifest(name="report", requires={"grades": ""}))
    kernel = kernel_with(grades, report, token_plugin({}))
    assert [p.state for p in kernel.plugins.values()] == ["loaded"] * 3
    assert "auth" not in kernel.plugins

    alone = kernel_with(grades, report)
    assert alone.plugins["grades"].state == "skipped"
    assert alone.plugins["grades"].error == (
        "needs a plugin implementing `authenticate`, and no usable plugin does; "
        "install or enable one"
    )
    assert alone.plugins["report"].state == "skipped"
    assert alone.plugins["report"].error == "requires 'grades', which is skipped"

    disabled = kernel_with(grades, token_plugin({}), plugins={"disabled": ["tokens"]})
    assert disabled.plugins["grades"].state == "skipped"


def test_needs_names_hooks() -> None:
    plugin = make_plugin("demo", manifest=lambda: Manifest(name="demo", needs=("authenticat",)))
    with pytest.raises(PluginError, match=r"'authenticat' is not a hook"):
        kernel_with(plugin)


async def test_a_required_plugin_whose_needs_are_unmet_stops_start_up() -> None:
    plugin = make_plugin("grades", manifest=Manifest(name="grades", needs=("authenticate",)))
    kernel = kernel_with(plugin, plugins={"required": ["grades"]}, database_url="sqlite://:memory:")
    with pytest.raises(PluginError, match=r"required plugin 'grades' is skipped: needs a plugin"):
        await kernel.start()
