"""``lyo serve``'s supervisor: Hypercorn (or Granian) worker processes serving the app."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import click

APP_FACTORY = "kernel.web.app:serving_app"


def announce_when_ready(host: str, port: int, how: str) -> None:
    """Print "serving on ..." once ``/health/live`` answers (plugins started, socket
    bound), from a daemon thread: a server that fails to start never announces itself."""
    import threading
    import urllib.error
    import urllib.request

    local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://{f'[{local}]' if ':' in local else local}:{port}/health/live"

    def poll() -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # an answer (a host not trusted, say) is a server that is up
            except Exception:
                time.sleep(0.2)
        click.echo(f"lyo: serving on http://{host}:{port} {how}", err=True)

    threading.Thread(target=poll, name="lyo-announce", daemon=True).start()


def serve_hypercorn(host: str, port: int, workers: int, graceful: float) -> None:
    """Serve with Hypercorn: in this process for one worker, else in spawned worker
    processes sharing the listening sockets. Either way SIGTERM/SIGINT close open
    websockets with 1001 (going away) before Hypercorn's graceful wait, which they
    would otherwise sit out (Hypercorn tells the app nothing when shutdown starts)."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.graceful_timeout = graceful
    config.accesslog = None
    config.include_server_header = False  # the kernel's middleware sends its own
    if workers == 1:
        stop = asyncio.Event()

        async def serve_here() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await _serve_app(config, None, stop.wait)

        asyncio.run(serve_here())
        return
    context = multiprocessing.get_context("spawn")
    sockets = config.create_sockets()
    shutdown = context.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: the supervisor decides
    processes = [
        context.Process(target=_hypercorn_worker, args=(config, sockets, shutdown))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: shutdown.set())
    wait([process.sentinel for process in processes])  # one ended: end them all
    shutdown.set()
    for process in processes:
        process.join()
    sys.exit(max(abs(process.exitcode or 0) for process in processes))


def _hypercorn_worker(config: Any, sockets: Any, shutdown: Any) -> None:
    """One spawned worker process of ``lyo serve --workers N``."""

    async def stopped() -> None:
        # a multiprocessing Event, waited for in short slices so the thread never
        # outlives a worker whose start-up failed
        while not await asyncio.to_thread(shutdown.wait, 0.5):
            pass

    asyncio.run(_serve_app(config, sockets, stopped))


async def _serve_app(config: Any, sockets: Any, stopped: Callable[[], Awaitable[Any]]) -> None:
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.utils import wrap_app

    from kernel.web.app import serving_app
    from kernel.web.ws import hypercorn_liveness

    app = serving_app()
    endpoint = app.extensions.get("lyo.ws")
    if endpoint is not None:  # protocol pings; a connection silent for idle_timeout closes
        hypercorn_liveness(config, endpoint.options)

    async def shutdown_trigger() -> None:
        await stopped()
        endpoint = app.extensions.get("lyo.ws")
        if endpoint is not None:
            await endpoint.close_all()

    wrapped = wrap_app(app, config.wsgi_max_body_size, None)  # type: ignore[arg-type]
    await worker_serve(wrapped, config, sockets=sockets, shutdown_trigger=shutdown_trigger)


def serve_granian(host: str, port: int, workers: int) -> None:
    try:
        from granian import Granian
        from granian.constants import Interfaces
    except ImportError:
        raise click.ClickException(
            "granian is not installed: pip install 'lyo-kernel[granian]'"
        ) from None
    # ASGI, not ASGINL: the app needs lifespan events to run the plugins' startup hooks
    Granian(
        APP_FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
    ).serve()
