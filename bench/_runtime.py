"""Shared pieces of the runtime benchmarks (tasks, events, websockets): worker processes,
Redis and PostgreSQL housekeeping, percentiles, the machine description and the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import Kernel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: For workers that get SIGSTOPped: redis-py's default 5 s read timeout would fire on
#: their blocked XREADGROUP when they resume, and a kernel worker exits on it.
PAUSABLE_REDIS_URL = REDIS_URL + ("&" if "?" in REDIS_URL else "?") + "socket_timeout=120"
PACKAGES = [
    "taskiq", "taskiq-redis", "redis", "hiredis", "tortoise-orm", "asyncpg", "orjson", "quart",
    "hypercorn", "uvloop",
]  # fmt: skip


def unique_prefix() -> str:
    """A Redis key prefix nobody else uses (``LYO_REDIS_PREFIX``)."""
    return f"bench-{uuid.uuid4().hex[:10]}"


async def start_kernel(database_url: str, prefix: str) -> Kernel:
    """The benchmark's own kernel (the client side: it enqueues and publishes) with only
    the bench plugin, started (which applies the kernel's migrations before any worker
    starts) and made current. The caller stops it."""
    from bench import benchplugin
    from kernel import Kernel, Settings

    settings = Settings(
        env="test",
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        log_level="WARNING",
        access_log=False,
    )
    kernel = Kernel.load(settings, [benchplugin], discover=False)
    await kernel.start()
    kernel.activate()
    return kernel


def worker_env(database_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of ``python -m kernel worker`` with only the bench plugin."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": database_url,
        "LYO_REDIS_URL": REDIS_URL,
        "LYO_REDIS_PREFIX": prefix,
        "LYO_PLUGINS__MODULES": "bench.benchplugin",
        "LYO_PLUGINS__ENABLED": "bench",
        "LYO_PLUGINS__REQUIRED": "bench",
        "LYO_LOG_LEVEL": "WARNING",
        "LYO_ACCESS_LOG": "false",
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **extra,
    }


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child process in the repository root, in its own process group (so that
    :func:`pause` reaches its children). Its output goes to a temporary file, shown if it
    dies (:func:`check_alive`), or to the terminal with ``BENCH_VERBOSE=1``."""
    verbose = bool(os.environ.get("BENCH_VERBOSE"))
    log = None if verbose else tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL if log else None,
        stderr=log,
        start_new_session=True,
    )
    if log is not None:
        _logs[proc.pid] = log
    return proc


_logs: dict[int, Any] = {}


def check_alive(procs: list[subprocess.Popen[bytes]], what: str) -> None:
    """Stop the benchmark, with the end of its output, if a child process has exited."""
    for proc in procs:
        if proc.poll() is not None:
            tail = ""
            if (log := _logs.get(proc.pid)) is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"{what}: {proc.args} exited with {proc.returncode}\n{tail}")


def pause(procs: list[subprocess.Popen[bytes]], paused: bool) -> None:
    """SIGSTOP (or SIGCONT) each process group of ``procs``."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGSTOP if paused else signal.SIGCONT)


def stop(procs: list[subprocess.Popen[bytes]], grace: float = 20) -> None:
    """SIGTERM each process (they shut down gracefully), then SIGKILL stragglers."""
    pause(procs, False)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for proc in procs:
        if (log := _logs.pop(proc.pid, None)) is not None:
            log.close()


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        stop(started)


def kernel_worker(concurrency: int, profile: str | None = None) -> list[str]:
    """``python -m kernel worker``, under cProfile writing to ``profile`` if given."""
    python = [sys.executable] + (["-m", "cProfile", "-o", profile] if profile else [])
    return [*python, "-m", "kernel", "worker", "--concurrency", str(concurrency)]


async def wait_for(
    check: Callable[[], Awaitable[bool]],
    seconds: float,
    what: str,
    interval: float = 0.05,
    procs: list[subprocess.Popen[bytes]] | None = None,
) -> float:
    """Poll ``check`` until true; returns the Unix time it was seen true."""
    deadline = time.monotonic() + seconds
    while True:
        if await check():
            return time.time()
        check_alive(procs or [], what)
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


async def consumers(redis: Any, stream: str, group: str) -> int:
    """How many consumers of ``group`` have read ``stream`` (a started worker reads)."""
    try:
        return len(await redis.xinfo_consumers(stream, group))
    except Exception:  # the stream or group does not exist yet
        return 0


async def warm_up(
    count_consumers: Callable[[], Awaitable[int]],
    args: Any,
    send: Callable[[int], Awaitable[Any]],
    procs: list[subprocess.Popen[bytes]],
    seconds: float = 90,
) -> int:
    """Send batches of warm-up work until every worker process has taken some (Redis
    registers a stream consumer only once it has been handed a message) and at least
    ``args.warmup`` items went; returns how many were sent."""
    sent = 0
    deadline = time.monotonic() + seconds
    while sent < args.warmup or await count_consumers() < args.workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {await count_consumers()} of {args.workers} workers read")
        check_alive(procs, "the warm-up")
        batch = max(1, min(args.warmup, 4 * args.concurrency))
        await gather_limited(batch, args.enqueuers, send)
        sent += batch
        await asyncio.sleep(0.2)
    return sent


async def group_done(redis: Any, stream: str, group: str, total: int) -> bool:
    """Whether ``group`` has read ``total`` entries of ``stream`` and acknowledged all."""
    for info in await redis.xinfo_groups(stream):
        if _text(info["name"]) == group:
            read = info.get("entries-read") or 0
            return bool(read >= total and info["pending"] == 0)
    return False


async def delete_prefix(redis: Any, prefix: str) -> None:
    """Delete every key starting with ``prefix:``."""
    batch = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    for start_at in range(0, len(batch), 500):
        await redis.delete(*batch[start_at : start_at + 500])


async def delete_results_of(redis: Any, stream: str) -> int:
    """Delete the taskiq result keys of the messages in ``stream`` (the kernel's result
    backend stores them under the bare task id, outside ``LYO_REDIS_PREFIX``)."""
    ids = []
    for _, fields in await redis.xrange(stream):
        with contextlib.suppress(Exception):
            ids.append(json.loads(fields[b"data"])["task_id"])
    for start_at in range(0, len(ids), 500):
        await redis.delete(*ids[start_at : start_at + 500])
    return len(ids)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def gather_limited(
    count: int, concurrency: int, make: Callable[[int], Awaitable[Any]]
) -> None:
    """Await ``make(i)`` for i in 0..count-1, at most ``concurrency`` at a time."""
    counter = iter(range(count))

    async def lane() -> None:
        for i in counter:
            await make(i)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))


# -- CPU time, which other load on the machine disturbs far less than wall time -------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int | str) -> tuple[int, float] | None:
    """(process group, user + system CPU seconds) of ``pid``; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def cpu_of_groups(pgids: list[int]) -> float:
    """CPU seconds used so far by the living processes of these process groups."""
    wanted, total = set(pgids), 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _proc_stat(entry)) and found[0] in wanted:
            total += found[1]
    return total


def cpu_of_pids(pids: list[int]) -> dict[int, float]:
    return {pid: found[1] for pid in pids if (found := _proc_stat(pid)) is not None}


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == name:
                    pids.append(int(entry))
    return pids


class CpuMeter:
    """CPU seconds spent between two snapshots by: the worker (or server) process groups,
    this process (the client side), the PostgreSQL backends serving ``database_url`` and
    the Redis server (shared with anything else using it)."""

    def __init__(self, procs: list[subprocess.Popen[bytes]], database_url: str | None) -> None:
        self.procs = procs
        self.database = database_url.rsplit("/", 1)[1] if database_url else None
        self.redis = pids_named("redis-server")
        self._admin: Any = None

    async def _backends(self) -> list[int]:
        if self.database is None:
            return []
        if self._admin is None:
            import asyncpg  # type: ignore[import-untyped]

            from kernel.testing import POSTGRES_SERVER

            server = POSTGRES_SERVER.replace("postgres://", "postgresql://")
            self._admin = await asyncpg.connect(server + "/postgres")
        rows = await self._admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        return [row["pid"] for row in rows]

    async def snapshot(self) -> dict[str, Any]:
        return {
            "workers": cpu_of_groups([p.pid for p in self.procs]),
            "client": time.process_time(),
            "postgres": cpu_of_pids(await self._backends()),
            "redis": sum(cpu_of_pids(self.redis).values()),
        }

    @staticmethod
    def spent(before: dict[str, Any], after: dict[str, Any], per: int) -> dict[str, float]:
        """Milliseconds of CPU per item (``per`` items) between two snapshots."""
        spent = {k: after[k] - before[k] for k in ("workers", "client", "redis")}
        pg_before, pg_after = before["postgres"], after["postgres"]
        spent["postgres"] = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        return {k: round(v * 1000 / per, 3) for k, v in spent.items()}

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``values`` (seconds) in milliseconds."""
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    if len(values) == 1:
        return {k: values[0] * 1000 for k in ("p50_ms", "p99_ms", "max_ms")}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "kernel_modified": bool(_git("status", "--porcelain", "kernel")),
    }


#: PostgreSQL settings a task's cost depends on (durability, memory, planning).
PG_SETTINGS = (
    "server_version", "synchronous_commit", "fsync", "wal_level", "full_page_writes",
    "shared_buffers", "max_connections", "jit", "plan_cache_mode", "autovacuum",
)  # fmt: skip


async def environment() -> dict[str, Any]:
    """What a figure depends on besides the code: the machine's CPU and load, the
    packages, PostgreSQL's and Redis's versions and settings. Printed with the figures,
    so a re-run elsewhere can tell a different environment from a regression."""
    import asyncpg  # type: ignore[import-untyped]
    from redis.asyncio import Redis

    from kernel.testing import POSTGRES_SERVER

    server = POSTGRES_SERVER.replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(server + "/postgres")
    try:
        rows = await connection.fetch(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)", list(PG_SETTINGS)
        )
    finally:
        await connection.close()
    redis = Redis.from_url(REDIS_URL)
    try:
        info = await redis.info()
        config = await redis.config_get("appendonly")
        config.update(await redis.config_get("save"))
    finally:
        await redis.aclose()
    return {
        **machine(),
        "cpu": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "postgres": {r["name"]: _setting(r["setting"], r["unit"]) for r in rows},
        "redis": {"version": info.get("redis_version"), **config},
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as lines:
        return next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    return ""


def _setting(value: str, unit: str | None) -> str:
    """``16384`` of ``8kB`` reads ``16384x8kB``; ``100`` of ``ms`` reads ``100ms``."""
    return value + (f"x{unit}" if unit and unit[0].isdigit() else unit or "")


def print_environment(env: dict[str, Any]) -> None:
    print(f"commit {env['commit']}{' (kernel modified)' if env['kernel_modified'] else ''}, "
          f"Python {env['python']}, {env['cpus']} CPUs ({env['cpu']}), "
          f"load average {env['load_average']}", file=sys.stderr)  # fmt: skip
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    print(f"packages: {packages}", file=sys.stderr)
    pg = ", ".join(f"{k}={v}" for k, v in env["postgres"].items())
    print(f"postgres: {pg}", file=sys.stderr)
    print(f"redis: {', '.join(f'{k}={v}' for k, v in env['redis'].items())}", file=sys.stderr)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def write_json(path: str | None, report: dict[str, Any]) -> None:
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as out:
        json.dump({"machine": machine(), **report}, out, indent=2, default=str)
    print(f"wrote {path}", file=sys.stderr)


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)
