"""``create_app()``: the Quart app factory."""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Quart
from quart.ctx import RequestContext
from quart.globals import request_ctx
from quart.typing import ResponseReturnValue
from quart.wrappers import Request
from quart_schema import QuartSchema

from kernel.config import Settings
from kernel.errors import BadRequest, PluginError, Unauthorized
from kernel.identity import SCRAPER, Credentials, set_identity
from kernel.kernel import Kernel
from kernel.logs import access_writer, configure_logging
from kernel.plugins.loading import Plugin, PluginState, owner_of
from kernel.web.cors import Cors
from kernel.web.inputs import MAX_JSON_DEPTH, check_fields, check_json_depth, check_json_strings
from kernel.web.media import media_blueprint
from kernel.web.middleware import REQUEST_ID_KEY, ROUTE_KEY, KernelMiddleware
from kernel.web.problems import (
    ProblemOpenAPIProvider,
    cache_type_adapters,
    register_error_handlers,
)
from kernel.web.routes import blueprint as kernel_blueprint
from kernel.web.ws import register_websocket


class KernelRequest(Request):
    """Quart's request, refusing hostile JSON and form input (:mod:`kernel.inputs`):
    nesting deeper than ``max_json_depth`` is a 400, text PostgreSQL cannot store a
    422; a JSON body that is not UTF-8 is answered like any other malformed JSON
    (Quart lets the ``UnicodeDecodeError`` escape: a 500)."""

    max_json_depth = MAX_JSON_DEPTH

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None
        try:
            text = str(await self.get_data(cache=cache, as_text=True))
            check_json_depth(text, self.max_json_depth)
            result = self.json_module.loads(text)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            if silent:
                return None
            raise BadRequest(f"The request body is not valid JSON: {error}.") from None
        if "\\u" in text:  # NUL and surrogates arrive only as escapes in valid JSON
            check_json_strings(result)
        if cache:
            self._cached_json[silent] = result
        return result

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise BadRequest(f"The request body is not valid JSON: {error}.")

    async def _load_form_data(self) -> None:
        await super()._load_form_data()
        check_fields("/form", self._form.items(multi=True) if self._form else ())
        if self._files:
            check_fields("/files", ((k, f.filename) for k, f in self._files.items(multi=True)))


class App(Quart):
    """Quart, plus the kernel, the route template for metrics, and authentication."""

    kernel: Kernel
    request_class = KernelRequest

    async def preprocess_request(
        self, request_context: RequestContext | None = None
    ) -> ResponseReturnValue | None:
        request = (request_context or request_ctx).request
        check_fields("/query", request.args.items(multi=True))
        check_fields("/path", (request.view_args or {}).items())
        if request.url_rule is not None:
            request.scope[ROUTE_KEY] = request.url_rule.rule  # type: ignore[literal-required]
        header = request.headers.get("Authorization")
        if header and self._is_scraper(request.path, header):
            set_identity(SCRAPER)
        elif header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                # refused only where a plugin judges tokens: asked here, off the common
                # path (with none, a well-formed token below is anonymous too)
                if self.kernel.authenticates:
                    raise Unauthorized("Send 'Authorization: Bearer <token>'.")
                return await super().preprocess_request(request_context)
            credentials = Credentials(
                token=token.strip(),
                transport="http",
                remote_addr=request.remote_addr,
                user_agent=request.headers.get("User-Agent"),
                request_id=str(request.scope.get(REQUEST_ID_KEY, "")),
            )
            set_identity(await self.kernel.authenticate(credentials))
        return await super().preprocess_request(request_context)

    def _is_scraper(self, path: str, header: str) -> bool:
        """Whether this is ``LYO_METRICS_TOKEN`` sent to an operator route."""
        secret = self.kernel.settings.metrics_token
        if secret is None or path not in OPERATOR_PATHS:
            return False
        expected = f"Bearer {secret.get_secret_value()}".encode()
        return hmac.compare_digest(header.encode(), expected)


#: Routes ``LYO_METRICS_TOKEN`` opens (see :data:`kernel.identity.OPERATE`).
OPERATOR_PATHS = frozenset({"/metrics", "/-/plugins"})


def create_app(
    settings: Settings | None = None,
    plugins: Iterable[Any] = (),
    *,
    discover: bool = True,
) -> App:
    """Build the web app: load settings and plugins, mount routes, wire middleware.

    ``plugins`` are plugin objects (usually modules) loaded in addition to the
    installed ones; ``discover=False`` loads only those. Configuration and plugin
    problems raise :class:`kernel.ConfigError` / :class:`kernel.PluginError` here,
    before anything is served; plugin ``startup`` hooks run when serving begins.
    """
    kernel = Kernel.load(settings, plugins, discover=discover)
    settings = kernel.settings
    configure_logging(settings.log_level, settings.json_logs)

    cache_type_adapters()
    app = App("lyo")
    app.request_class = type(  # this app's limit, not every app's
        "KernelRequest", (KernelRequest,), {"max_json_depth": settings.max_json_depth}
    )  # type: ignore[assignment]
    app.kernel = kernel
    app.extensions["lyo"] = kernel
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_size, DEBUG=settings.debug)
    QuartSchema(
        app,
        openapi_path="/openapi.json" if settings.docs_enabled else None,
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        info={"title": "Lyo", "version": kernel.version},
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"}},
        openapi_provider_class=ProblemOpenAPIProvider,
    )
    _skip_conversion_of_plain_json(app)
    register_error_handlers(app, production=settings.is_production_like)
    app.register_blueprint(kernel_blueprint)
    if not settings.is_production_like and settings.media_url.startswith("/"):
        app.register_blueprint(media_blueprint(settings.media_url))  # production: a proxy
    for plugin in kernel.usable():
        _mount(app, kernel, plugin)

    origins = settings.ws.origins or settings.cors_origins
    endpoint = register_websocket(app, kernel, settings.ws.model_copy(update={"origins": origins}))

    @app.before_serving
    async def start_plugins() -> None:
        await kernel.start()
        await kernel.hub.start()  # only API processes listen for fan-out

    @app.after_serving
    async def stop_plugins() -> None:
        await endpoint.close_all()  # going away (1001)
        await kernel.stop()

    app.asgi_app = KernelMiddleware(  # type: ignore[method-assign, assignment]
        app.asgi_app,  # type: ignore[arg-type]
        trusted_hosts=settings.trusted_hosts,
        gzip_min_size=settings.gzip_min_size,
        hsts=settings.is_production_like,
        access_log=access_writer(settings.json_logs, settings.log_level)
        if settings.access_log
        else None,
        unavailable=lambda path: _unavailable(kernel, path),
        activate=kernel.activate,
        warn_forwarded=not settings.proxy_hops,
        pages={"/docs": docs_policy(app)} if settings.docs_enabled else None,
        cors=Cors(
            settings.cors_origins,
            credentials=settings.cors_credentials,
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
        if settings.cors_origins
        else None,
    )
    if settings.proxy_hops:
        from hypercorn.middleware import ProxyFixMiddleware

        # outermost: every layer below sees the client's address, not the proxy's
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign, assignment]
            app.asgi_app,  # type: ignore[arg-type]
            mode="legacy",
            trusted_hops=settings.proxy_hops,
        )
    return app


def docs_policy(app: Quart) -> bytes:
    """The Content-Security-Policy that lets quart-schema's Swagger UI page work: its
    script and style sheet from their CDN, its one inline script (by hash), inline
    styles and data: images (Swagger UI's own), and requests to this server only."""
    from quart_schema.extension import SWAGGER_TEMPLATE

    script = SWAGGER_TEMPLATE.split("<script>", 1)[1].split("</script>", 1)[0]
    script = script.replace("{{ url_for('openapi') }}", "/openapi.json")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    js = _origin(app.config["QUART_SCHEMA_SWAGGER_JS_URL"])
    css = _origin(app.config["QUART_SCHEMA_SWAGGER_CSS_URL"])
    return (
        f"default-src 'none'; script-src {js} 'sha256-{digest}'; "
        f"style-src {css} 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'"
    ).encode()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _skip_conversion_of_plain_json(app: App) -> None:
    """Answer plain ``dict``/``list`` results (alone, with a status, or with a status
    and headers) without quart-schema's conversion, which runs pydantic over every
    response (about 30 us each here); what they may hold that JSON cannot (a model, a
    datetime) is still converted by quart-schema's JSON provider. Everything else takes
    quart-schema's path unchanged."""
    converting = app.make_response  # quart-schema's wrapper, set by QuartSchema(app)
    plain = super(App, app).make_response

    async def make_response(result: Any) -> Any:
        value = result[0] if type(result) is tuple and len(result) in (2, 3) else result
        if type(value) in (dict, list) and (value is result or type(result[1]) is int):
            return await plain(result)
        return await converting(result)

    app.make_response = make_response  # type: ignore[method-assign]


def serving_app(
    settings: Settings | None = None, plugins: Iterable[Any] = (), *, discover: bool = True
) -> App:
    """The app as ``lyo serve`` runs it. Once started, the long-lived heap (modules,
    plugins, the app) is moved out of the garbage collector's reach with
    ``gc.freeze()``, so full collections stop walking it on every request burst:
    measured here, that cut the p99 latency of a trivial route from about 55 ms to
    about 20 ms. The youngest generation is also collected every 10,000 allocations
    instead of 700: a server allocates so fast that objects living a few milliseconds
    (a request, a websocket frame in flight) otherwise survive into the old generation,
    whose collections then walk every open connection; with 1,000 websockets, and the
    heap frozen, that was a pause of up to 150 ms every few seconds (``bench/ws.py``:
    p99 2.2x a bare Quart broadcast; 0.9x with this). Only the first threshold changes,
    so the others keep their meaning on any Python. Not in ``create_app``: tests build
    many apps in one process."""
    app = create_app(settings, plugins, discover=discover)

    @app.before_serving
    async def tune_gc() -> None:  # runs after the kernel has started
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])

    return app


#: Allocations between collections of the youngest generation in a served process.
GC_YOUNG_THRESHOLD = 10_000


def _mount(app: App, kernel: Kernel, plugin: Plugin) -> None:
    """Register the plugin's blueprints; a plugin whose hook raises is marked failed."""
    try:
        blueprints: list[Blueprint] = list(
            kernel.call_sync(plugin, "blueprints", kernel=kernel) or []
        )
    except PluginError:
        raise
    except Exception as exc:
        if plugin.required:
            raise PluginError(
                f"required plugin {plugin.name!r} failed to build routes: {exc}"
            ) from exc
        plugin.fail(exc)
        return
    for bp in blueprints:
        try:
            app.register_blueprint(bp, url_prefix=bp.url_prefix or f"/api/{plugin.name}")
        except ValueError as exc:
            raise PluginError(f"plugin {plugin.name!r}: {exc}; rename the blueprint") from None
    names = {bp.name for bp in blueprints}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".", 1)[0] not in names:
            continue
        if owner_of(rule.rule, [plugin]) is None:
            raise PluginError(
                f"plugin {plugin.name!r} serves {rule.rule}, outside its URL prefixes "
                f"{', '.join(plugin.url_prefixes)}; move the route or claim the prefix in "
                "its manifest"
            )
        methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        plugin.routes.append(f"{methods} {rule.rule}" if methods else f"WS {rule.rule}")


def _unavailable(kernel: Kernel, path: str) -> dict[str, Any] | None:
    for plugin in kernel.plugins.values():
        if plugin.state in (PluginState.FAILED, PluginState.SKIPPED) and owner_of(path, [plugin]):
            return {
                "status": 503,
                "title": "Service Unavailable",
                "type": "urn:lyo:problem:plugin-unavailable",
                "detail": f"Plugin {plugin.name!r} is {plugin.state}: {plugin.error}",
                "plugin": plugin.name,
            }
    return None
