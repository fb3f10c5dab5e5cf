"""Faults as tests: nothing acknowledged is lost when a worker, Redis or PostgreSQL dies.

``tox -e faults``, or ``LYO_TEST_FAULTS=1 pytest tests/faults``. The suite starts its own
PostgreSQL cluster (initdb, pg_ctl) and Redis server (no persistence) on free ports in a
temporary folder, never the shared services; then ``lyo serve``, two ``lyo worker`` and
``lyo scheduler`` as processes, and a bounded load of writes that publish events
(``POST /api/notes/notes``) and enqueue tasks (``POST /api/notes/jobs``). While the load
runs it SIGKILLs a worker (a replacement starts, as an orchestrator would), kills Redis
and restarts it empty, stops PostgreSQL immediately and starts it again, and SIGTERMs
the API and a worker. Then, from the database and the client's records: every
acknowledged write committed, every committed event handled exactly once, every
acknowledged task finished exactly once, no answer a 5xx but a 503 problem with
``Retry-After``, no surviving process exited, and each recovery within the bound the
output prints (generous: correctness, not a benchmark).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.testing import free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("LYO_TEST_FAULTS"), reason="set LYO_TEST_FAULTS=1 (or run tox -e faults)"
)

LEASE = 10.0  # LYO_TASK_LEASE of the workers
HOOK_TIMEOUT = 2.0  # LYO_HOOK_TIMEOUT: how long a stopping worker lets its tasks run
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cluster:
    """The private servers and the Lyo processes, with their logs in ``tmp``."""

    tmp: Path
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: subprocess.Popen[bytes] | None = None

    @property
    def db_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/lyo"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
            "PYTHONPATH": str(ROOT),
            "LYO_ENV": "test",
            "LYO_DATABASE_URL": self.db_url,
            "LYO_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "LYO_REDIS_PREFIX": "faults",
            "LYO_PLUGINS__ENABLED": "notes",
            "LYO_PLUGINS__MODULES": "tests.notes.plugin",
            "LYO_PORT": str(self.api_port),
            "LYO_TASK_LEASE": str(LEASE),
            "LYO_HOOK_TIMEOUT": str(HOOK_TIMEOUT),
            "LYO_WORKER_CONCURRENCY": "10",
            "LYO_ACCESS_LOG": "false",
            "LYO_LOG_LEVEL": "WARNING",
        }

    # -- servers ---------------------------------------------------------------------

    def start_postgres(self, *, init: bool = False) -> None:
        run = self.tmp / "pgrun"  # the data folder, its socket and log
        if init:
            run.mkdir()
            if os.geteuid() == 0:  # PostgreSQL refuses to run as root
                self.tmp.chmod(0o755)
                shutil.chown(run, "postgres", "postgres")
            _as_owner(["initdb", "-D", str(run / "data"), "-U", "postgres", "--auth=trust"])
        _as_owner(
            [
                *("pg_ctl", "-D", str(run / "data"), "-l", str(run / "pg.log"), "-w", "start"),
                *("-o", f"-p {self.pg_port} -k {run} -c listen_addresses=127.0.0.1"),
            ]
        )

    def stop_postgres(self) -> None:
        _as_owner(["pg_ctl", "-D", str(self.tmp / "pgrun" / "data"), "-m", "immediate", "stop"])

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.tmp)),
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait(lambda: _redis_up(self.redis_port), 10, "redis-server")

    def kill_redis(self) -> None:
        assert self.redis is not None
        self.redis.kill()
        self.redis.wait(10)

    # -- Lyo processes -----------------------------------------------------------------

    def lyo(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.procs[name] = proc
        return proc

    def serve(self, name: str) -> None:
        self.lyo(name, "serve", "--workers", "1")
        _wait(lambda: _answers(f"{self.base}/health/live"), 60, name)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self.redis is not None and self.redis.poll() is None:
            self.kill_redis()
        self.stop_postgres()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    for tool in ("initdb", "pg_ctl", "redis-server"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="lyo-faults-"))
    found = Cluster(tmp)
    try:
        found.start_postgres(init=True)
        subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(found.pg_port), "-U", "postgres"),
                *("-qc", "CREATE DATABASE lyo"),
            ],
            check=True,
            capture_output=True,
        )
        found.start_redis()
        migrate = subprocess.run(
            [sys.executable, "-m", "kernel", "migrate"],
            env=found.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        yield found
    finally:
        found.stop_all()
        if os.environ.get("LYO_TEST_FAULTS_KEEP"):
            print(f"faults: logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# -- the load ----------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str  # "note" or "job"
    slug: str
    status: int | None  # None: no answer (connection refused or reset)
    at: float
    retry_after: str | None = None
    content_type: str = ""
    task_id: str | None = None


class Load:
    """Writes at a bounded rate, a few at a time, every answer recorded."""

    def __init__(self, base: str, rate: float = 12.0) -> None:
        self.base = base
        self.rate = rate
        self.answers: list[Answer] = []
        self.stop = asyncio.Event()
        self.job_seconds = 0.2

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=15) as client:
            pending: set[asyncio.Task[None]] = set()
            n = 0
            while not self.stop.is_set():
                n += 1
                kind = "job" if n % 3 == 0 else "note"
                task = asyncio.create_task(self.write(client, kind, f"{kind}-{n}"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / self.rate)
            await asyncio.gather(*pending)

    async def write(
        self, client: httpx.AsyncClient, kind: str, slug: str, seconds: float | None = None
    ) -> Answer:
        if kind == "note":
            request = client.post("/api/notes/notes", json={"slug": slug, "title": slug})
        else:
            seconds = self.job_seconds if seconds is None else seconds
            request = client.post("/api/notes/jobs", json={"slug": slug, "seconds": seconds})
        try:
            response = await request
        except httpx.HTTPError:
            answer = Answer(kind, slug, None, time.monotonic())
        else:
            answer = Answer(
                kind,
                slug,
                response.status_code,
                time.monotonic(),
                response.headers.get("retry-after"),
                response.headers.get("content-type", ""),
                response.json().get("task_id") if response.status_code == 202 else None,
            )
        self.answers.append(answer)
        return answer

    async def jobs(self, count: int, seconds: float) -> list[str]:
        """Start ``count`` jobs of ``seconds`` each; their run ids."""
        async with httpx.AsyncClient(base_url=self.base, timeout=15) as client:
            prefix = uuid.uuid4().hex[:6]
            answers = await asyncio.gather(
                *(self.write(client, "job", f"long-{prefix}-{i}", seconds) for i in range(count))
            )
        assert all(a.status == 202 for a in answers), answers
        return [str(a.task_id) for a in answers]


# -- checks ----------------------------------------------------------------------------------


async def _db(cluster: Cluster) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(
        host="127.0.0.1", port=cluster.pg_port, user="postgres", database="lyo"
    )


async def _all_done(cluster: Cluster, load: Load, upto: int, before: float) -> str | None:
    """What is still missing of what the first ``upto`` answers acknowledged and of
    what was committed before ``before`` (``None``: all of it has had its effect)."""
    try:
        db = await _db(cluster)
    except Exception as exc:
        return f"database: {exc!r}"
    answers = load.answers[:upto]
    try:
        acked_notes = {a.slug for a in answers if a.kind == "note" and a.status == 201}
        acked_jobs = {a.task_id: a.slug for a in answers if a.status == 202}
        notes = {r["slug"] for r in await db.fetch("SELECT slug FROM notes_note")}
        if missing := acked_notes - notes:
            return f"{len(missing)} acknowledged notes not committed"
        undelivered = await db.fetchval(
            "SELECT count(*) FROM kernel_outbox_event e WHERE NOT EXISTS (SELECT 1 FROM "
            "kernel_handled_event h WHERE h.event_id = e.id AND h.handler_id = 'notes:mirror') "
            "AND e.occurred_at < to_timestamp($1)",
            before,
        )
        if undelivered:
            return f"{undelivered} committed events not handled"
        runs = {
            str(r["id"]): r["status"]
            for r in await db.fetch("SELECT id, status FROM kernel_task_run WHERE kind = 'task'")
        }
        unfinished = [t for t in acked_jobs if runs.get(str(t)) != "succeeded"]
        if unfinished:
            # what the runs look like, so a failure says why
            rows = await db.fetch(
                "SELECT id, status, attempts, sent_at IS NOT NULL AS sent, problem, "
                "round(extract(epoch FROM now() - updated_at)) AS idle_s, "
                "round(extract(epoch FROM lease_until - now())) AS lease_s "
                "FROM kernel_task_run WHERE id = ANY($1::uuid[]) ORDER BY id LIMIT 3",
                unfinished,
            )
            seen = "; ".join(
                f"{str(r['id'])[:8]} {r['status']} attempts={r['attempts']} sent={r['sent']} "
                f"idle={r['idle_s']}s lease={r['lease_s']}s"
                + (f" problem={r['problem'][:160]}" if r["problem"] else "")
                for r in rows
            )
            return f"{len(unfinished)} acknowledged tasks not finished ({seen or 'no rows'})"
        stranded = await db.fetchval(
            "SELECT count(*) FROM kernel_task_run WHERE status IN ('queued', 'running') "
            "AND created_at < to_timestamp($1)",
            before,
        )
        if stranded:
            return f"{stranded} runs still queued or running"
        return None
    finally:
        await db.close()


async def _until(what: str, check: Any, bound: float) -> float:
    """Seconds until ``check()`` answers ``None``; fails past ``bound``."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < bound:
        previous, last = last, await check()
        # what recovery waits for, as it goes (details in brackets change every poll)
        if last is not None and (previous or "").split(" (")[0] != last.split(" (")[0]:
            print(f"faults: {what}: {time.monotonic() - started:.1f} s: {last}")
        if last is None:
            took = time.monotonic() - started
            print(f"faults: {what}: recovered in {took:.1f} s (bound {bound:.0f} s)")
            return took
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not recovered in {bound:.0f} s: {last}")


async def _resumed(cluster: Cluster, ids: list[str], wall: float) -> float:
    """Seconds from ``wall`` (a time.time()) until the last of ``ids`` started again."""
    db = await _db(cluster)
    try:
        rows = await db.fetch(
            "SELECT status, extract(epoch FROM started_at) AS started, attempts "
            "FROM kernel_task_run WHERE id = ANY($1::uuid[])",
            ids,
        )
    finally:
        await db.close()
    assert all(r["status"] == "succeeded" for r in rows), rows
    return max(float(r["started"]) for r in rows) - wall


async def _quiet(cluster: Cluster, load: Load, what: str, bound: float) -> float:
    """Seconds until everything acknowledged (and committed) so far has had its effect:
    called when a fault ends, how long recovery took."""
    upto, before = len(load.answers), time.time()
    return await _until(what, lambda: _all_done(cluster, load, upto, before), bound)


async def test_nothing_acknowledged_is_lost_across_faults(cluster: Cluster) -> None:
    await asyncio.to_thread(cluster.serve, "api")
    for name in ("worker-a", "worker-b"):
        cluster.lyo(name, "worker")
    cluster.lyo("scheduler", "scheduler")
    load = Load(cluster.base)
    driving = asyncio.create_task(load.run())
    survivors = ["scheduler"]
    try:
        await asyncio.sleep(3)
        await _quiet(cluster, load, "warm-up", 30)

        # 1. a worker killed with SIGKILL while it runs tasks, just after their leases
        #    were renewed: they resume elsewhere once the lease ends, not twice later
        ids = await load.jobs(8, 10.0)
        await asyncio.sleep(LEASE / 3 + 0.5)
        killed = time.time()
        cluster.procs["worker-a"].kill()
        cluster.lyo("worker-c", "worker")  # the replacement an orchestrator starts
        await _quiet(cluster, load, "worker SIGKILL", LEASE + 40)
        resumed = await _resumed(cluster, ids, killed)
        print(f"faults: worker SIGKILL: its tasks resumed {resumed:.1f} s after the kill")
        assert resumed < LEASE + 4, f"tasks resumed {resumed:.1f} s after the kill"

        # 2. Redis killed, restarted empty 3 s later
        await asyncio.to_thread(cluster.kill_redis)
        await asyncio.sleep(3)
        async with httpx.AsyncClient(timeout=10) as client:
            ready = await client.get(f"{cluster.base}/health/ready")
        # writes still commit (their effects wait in PostgreSQL): stay in rotation
        assert ready.status_code == 200, ready.text
        assert any(
            c["name"] == "redis" and c["status"] == "failing" for c in ready.json()["checks"]
        ), ready.text
        await asyncio.to_thread(cluster.start_redis)
        await _quiet(cluster, load, "Redis restarted empty", 60)

        # 3. PostgreSQL stopped immediately, started again 3 s later
        await asyncio.to_thread(cluster.stop_postgres)
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster.start_postgres)
        await _quiet(cluster, load, "PostgreSQL restarted", 60)

        # 4. SIGTERM a worker while it runs tasks (the runs it hands back are taken at
        #    once by the other) and the API under load (a new one takes its port)
        ids = await load.jobs(6, 6.0)
        await asyncio.sleep(1.0)
        stopped = time.time()
        worker, api = cluster.procs["worker-b"], cluster.procs["api"]
        worker.send_signal(signal.SIGTERM)
        api.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(api.wait, 30) == 0, cluster.log("api")
        await asyncio.to_thread(cluster.serve, "api-2")
        assert await asyncio.to_thread(worker.wait, HOOK_TIMEOUT + 30) == 0, cluster.log("worker-b")
        await _quiet(cluster, load, "API and worker SIGTERM", 60)
        resumed = await _resumed(cluster, ids, stopped)
        print(f"faults: worker SIGTERM: handed-back tasks resumed {resumed:.1f} s after it")
        # those it held resumed once it let them go (after LYO_HOOK_TIMEOUT)
        assert resumed < HOOK_TIMEOUT + 5, f"handed-back tasks resumed after {resumed:.1f} s"
        survivors += ["worker-c", "api-2"]
    finally:
        load.stop.set()
        await driving
    await _quiet(cluster, load, "final drain", 60)

    for name in survivors:
        assert cluster.procs[name].poll() is None, f"{name} exited:\n{cluster.log(name)}"
    bad = [
        a
        for a in load.answers
        if a.status is not None
        and a.status >= 500
        and not (
            a.status == 503 and a.retry_after and a.content_type.startswith("application/problem")
        )
    ]
    assert not bad, bad[:5]
    db = await _db(cluster)
    try:
        # exactly once: one handled mark per event, one mirror folder per note, no
        # dead letter; each acknowledged job's note written once, by a succeeded run
        twice = await db.fetchval(
            "SELECT count(*) FROM (SELECT event_id FROM kernel_handled_event "
            "GROUP BY handler_id, event_id HAVING count(*) > 1) AS t"
        )
        assert twice == 0
        events = await db.fetchval("SELECT count(*) FROM kernel_outbox_event")
        mirrors = await db.fetchval("SELECT count(*) FROM notes_folder WHERE name LIKE 'mirror-%'")
        assert mirrors == events
        assert await db.fetchval("SELECT count(*) FROM kernel_dead_letter") == 0
        acked = [a.task_id for a in load.answers if a.status == 202]
        runs = await db.fetch(
            "SELECT r.status, n.title FROM kernel_task_run r LEFT JOIN notes_note n "
            "ON n.title = 'by task ' || r.id::text WHERE r.id = ANY($1::uuid[])",
            acked,
        )
        assert len(runs) == len(acked) and all(r["title"] for r in runs)
    finally:
        await db.close()
    counts = {}
    for a in load.answers:
        counts[(a.kind, a.status)] = counts.get((a.kind, a.status), 0) + 1
    print("faults: answers", dict(sorted(counts.items(), key=str)))


def _as_owner(command: list[str]) -> None:
    """Run a PostgreSQL tool, as user postgres when this is root."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 and "stop" not in command:
        raise AssertionError(f"{command}: {done.stdout}{done.stderr}")


def _wait(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not start in {seconds} s")


def _redis_up(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True
