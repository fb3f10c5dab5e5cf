"""Tasks: status and progress for the owner, cancellation, retries with real delays,
and, on Redis with real worker processes, recovery from a SIGKILLed worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from kernel import Identity, Kernel, Settings
from kernel.data.models import TaskRun
from kernel.testing import token_plugin
from tests.notes import plugin as notes
from tests.notes.models import Note

ada = Identity(id="ada", kind="user")
bob = Identity(id="bob", kind="user")
users = token_plugin({"ada": ada, "bob": bob})
ADA = {"Authorization": "Bearer ada"}


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes, users]


async def wait_for(client: Any, task_id: str, *statuses: str, seconds: float = 10) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = await (await client.get(f"/api/tasks/{task_id}", headers=ADA)).get_json()
        if body["status"] in statuses:
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {statuses}: {body}")


async def test_owner_follows_a_task_to_its_result(lyo_client: Any) -> None:
    response = await lyo_client.post("/api/notes/jobs", json={"slug": "t1"}, headers=ADA)
    assert response.status_code == 202
    started = await response.get_json()
    assert started["topic"] == f"task:{started['task_id']}"
    done = await wait_for(lyo_client, started["task_id"], "succeeded")
    assert done["percent"] == 100 and done["result"]["owner"] == "ada"
    assert done["attempts"] == 1 and done["name"] == "notes:write_note"
    assert await Note.filter(slug="t1").count() == 1
    for headers in ({"Authorization": "Bearer bob"}, {}):
        other = await lyo_client.get(f"/api/tasks/{started['task_id']}", headers=headers)
        assert other.status_code == 404  # someone else's task is as good as missing


async def test_progress_is_visible_while_running(lyo_client: Any) -> None:
    response = await lyo_client.post(
        "/api/notes/jobs", json={"slug": "t2", "seconds": 1.5}, headers=ADA
    )
    task_id = (await response.get_json())["task_id"]
    running = await wait_for(lyo_client, task_id, "running")
    for _ in range(40):
        running = await (await lyo_client.get(f"/api/tasks/{task_id}", headers=ADA)).get_json()
        if running["percent"] > 0:
            break
        await asyncio.sleep(0.05)
    assert 0 < running["percent"] < 100
    assert running["message"].startswith("step") and "step" in running["progress"]
    await wait_for(lyo_client, task_id, "succeeded")


async def test_cancel_stops_the_task_and_saves_nothing(lyo_client: Any) -> None:
    response = await lyo_client.post(
        "/api/notes/jobs", json={"slug": "t3", "seconds": 5}, headers=ADA
    )
    task_id = (await response.get_json())["task_id"]
    await wait_for(lyo_client, task_id, "running")
    asked = time.monotonic()
    cancel = await lyo_client.post(f"/api/tasks/{task_id}/cancel", headers=ADA)
    assert cancel.status_code == 202
    await wait_for(lyo_client, task_id, "cancelled", seconds=3)
    assert time.monotonic() - asked < 1.5
    assert await Note.filter(slug="t3").count() == 0
    forbidden = await lyo_client.post(
        f"/api/tasks/{task_id}/cancel", headers={"Authorization": "Bearer bob"}
    )
    assert forbidden.status_code == 404


async def test_retries_with_backoff_run_the_effect_once(lyo_app: Any, lyo_client: Any) -> None:
    tasks = lyo_app.kernel.tasks
    run = await tasks.enqueue("notes:flaky", owner=ada, slug="flaky-ok", failures=2)
    done = await wait_for(lyo_client, str(run.id), "succeeded")
    assert done["attempts"] == 3
    assert await Note.filter(slug="flaky-ok").count() == 1
    run = await tasks.enqueue("notes:flaky", owner=ada, slug="flaky-bad", failures=10)
    failed = await wait_for(lyo_client, str(run.id), "failed")
    assert failed["attempts"] == 4  # the first try and 3 retries
    assert "failure 4" in failed["problem"]["detail"]


async def test_a_task_argument_may_be_called_name(lyo_app: Any, lyo_client: Any) -> None:
    run = await lyo_app.kernel.tasks.enqueue("notes:echo", owner=ada, name="Ada")
    done = await wait_for(lyo_client, str(run.id), "succeeded")
    assert done["result"] == "Ada"


async def test_concurrent_runs_each_run_once_with_their_own_result(
    lyo_app: Any, lyo_client: Any
) -> None:
    """On PostgreSQL concurrent enqueues, leases and finishes share statements; every run
    still gets its own row, one try and its own result."""
    tasks = lyo_app.kernel.tasks
    runs = await asyncio.gather(
        *(tasks.enqueue("notes:echo", owner=ada, name=f"n{i}") for i in range(30))
    )
    for i, run in enumerate(runs):
        done = await wait_for(lyo_client, str(run.id), "succeeded")
        assert done["result"] == f"n{i}" and done["attempts"] == 1 and done["percent"] == 100


async def test_a_run_leased_twice_at_once_is_taken_once(lyo_app: Any) -> None:
    """Two deliveries of one message in the same instant (they may share a statement)."""
    tasks = lyo_app.kernel.tasks
    run = await TaskRun.create(id=uuid.uuid4(), name="notes:echo", owner_id="ada")
    taken = await asyncio.gather(*(tasks.worker.take_lease(run.id) for _ in range(3)))
    assert sorted(taken) == [False, False, True]
    assert (await TaskRun.get(id=run.id)).attempts == 1
    await tasks.worker.finish(run.id, "succeeded", result=None, percent=100.0)


async def test_leases_and_finishes_of_concurrent_runs_share_a_statement(lyo_app: Any) -> None:
    """A worker's leases and finishes go together; a redelivery of a run that is being
    finished in that same statement is not leased, even with its lease run out (one
    UPDATE may not touch a row twice, and the run must not start again)."""
    tasks = lyo_app.kernel.tasks
    done = await TaskRun.create(id=uuid.uuid4(), name="notes:echo", owner_id="ada")
    fresh = await TaskRun.create(id=uuid.uuid4(), name="notes:echo", owner_id="ada")
    assert await tasks.worker.take_lease(done.id)
    past = datetime.now(UTC) - timedelta(seconds=5)
    await TaskRun.filter(id=done.id).update(lease_until=past)  # its renewal was late
    statements: list[list[str]] = []
    write_rows = tasks.store.rows._flush

    async def counted(items: list[tuple[str, Any]]) -> list[Any]:
        statements.append([kind for kind, _ in items])
        return await write_rows(items)

    tasks.store.rows._flush = counted
    try:
        _, taken_again, taken = await asyncio.gather(
            tasks.worker.finish(done.id, "succeeded", result={"n": 1}, percent=100.0),
            tasks.worker.take_lease(done.id),
            tasks.worker.take_lease(fresh.id),
        )
    finally:
        tasks.store.rows._flush = write_rows
    if lyo_app.kernel.db.dialect == "postgres":  # SQLite keeps the ORM, a query each
        assert statements == [["finish", "lease", "lease"]]
    assert (taken_again, taken) == (False, True)
    rows = {run.id: run for run in await TaskRun.filter(id__in=[done.id, fresh.id])}
    assert (rows[done.id].status, rows[done.id].attempts, rows[done.id].result) == (
        "succeeded",
        1,
        {"n": 1},
    )
    assert (rows[fresh.id].status, rows[fresh.id].attempts) == ("running", 1)
    await tasks.worker.finish(fresh.id, "succeeded", result=None, percent=100.0)


async def test_enqueue_in_a_rolled_back_transaction_leaves_no_run(lyo_app: Any) -> None:
    from kernel.data.db import transaction

    with pytest.raises(RuntimeError):
        async with transaction():
            run = await lyo_app.kernel.tasks.enqueue("notes:echo", owner=ada, name="gone")
            assert await TaskRun.filter(id=run.id).exists()  # written in the transaction
            raise RuntimeError("roll back")
    assert not await TaskRun.filter(id=run.id).exists()


async def test_a_forced_cancellation_check_is_not_throttled(lyo_app: Any) -> None:
    from kernel import TaskCancelled, TaskContext

    run = await TaskRun.create(name="notes:write_note", owner_id="ada", status="running")
    ctx = TaskContext(
        id=run.id,
        name=run.name,
        attempt=1,
        identity=ada,
        request_id=None,
        kernel=lyo_app.kernel,
        min_interval=3600,  # the unforced check below is throttled however slow CI is
    )
    await ctx.check_cancelled()  # checked: not cancelled; the next check is throttled
    await TaskRun.filter(id=run.id).update(cancel_requested=True)
    await ctx.check_cancelled()  # within the interval: not looked at
    with pytest.raises(TaskCancelled):
        await ctx.check_cancelled(force=True)


def test_retry_delays_grow_exponentially() -> None:
    spec = notes.flaky
    assert [spec.delay(n) for n in (1, 2, 3)] == [0.05, 0.1, 0.2]


# -- real workers on Redis ---------------------------------------------------------------


@pytest.fixture
def worker_env(pg_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": pg_url,
        "LYO_REDIS_URL": "redis://127.0.0.1:6379/0",
        "LYO_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "LYO_PLUGINS__MODULES": "tests.notes.plugin",
        "LYO_PLUGINS__ENABLED": "notes",  # whatever else is installed stays out
        "LYO_TASK_LEASE": "2",
        "LYO_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def workers(worker_env: dict[str, str]) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel", "worker", "--concurrency", "4"],
            env={**worker_env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest_asyncio.fixture
async def client_kernel(worker_env: dict[str, str]) -> AsyncIterator[Kernel]:
    """The API side: enqueues; never runs tasks itself (Redis broker)."""
    settings = Settings(
        env="test",
        database_url=worker_env["LYO_DATABASE_URL"],
        redis_url=worker_env["LYO_REDIS_URL"],
        redis_prefix=worker_env["LYO_REDIS_PREFIX"],
        task_lease=2,
    )
    kernel = Kernel.load(settings, [notes], discover=False)
    await kernel.start()
    kernel.activate()
    yield kernel
    await kernel.stop()


async def run_state(task_id: uuid.UUID, *statuses: str, seconds: float = 30) -> TaskRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = await TaskRun.get(id=task_id)
        if run.status in statuses:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"{task_id}: still {run.status}, wanted {statuses}")


async def test_taskiq_keeps_the_result_in_redis_under_the_runs_id(
    client_kernel: Kernel, workers: Any
) -> None:
    workers()
    run = await client_kernel.tasks.enqueue("notes:echo", owner=ada, name="redis")
    done = await run_state(run.id, "succeeded", "failed")
    assert done.status == "succeeded", done.problem
    backend = client_kernel.tasks.broker.result_backend
    for _ in range(50):  # taskiq saves it after the run's row is finished
        if await backend.is_result_ready(str(run.id)):
            break
        await asyncio.sleep(0.1)
    result = await backend.get_result(str(run.id))
    assert not result.is_err
    from redis.asyncio import Redis

    settings = client_kernel.settings
    async with Redis.from_url(settings.redis_url) as redis:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:result*")]
    assert any(str(run.id) in key.decode() for key in keys), keys

    # a failure is recorded as one; its retries are not outcomes
    run = await client_kernel.tasks.enqueue("notes:flaky", owner=ada, slug="f", failures=10)
    assert (await run_state(run.id, "succeeded", "failed")).status == "failed"
    for _ in range(50):
        if await backend.is_result_ready(str(run.id)):
            break
        await asyncio.sleep(0.1)
    assert (await backend.get_result(str(run.id))).is_err


async def test_a_killed_workers_task_completes_once_on_another(
    client_kernel: Kernel, workers: Any
) -> None:
    first = workers()
    run = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="k", seconds=4)
    await run_state(run.id, "running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    workers()  # nothing else is enqueued: the new worker must reclaim by itself
    done = await run_state(run.id, "succeeded", "failed", seconds=40)
    assert done.status == "succeeded", done.problem
    assert done.attempts == 2
    assert await Note.filter(slug="k").count() == 1
    assert time.monotonic() - killed_at < 30


async def test_a_long_task_on_a_healthy_worker_runs_once(
    client_kernel: Kernel, workers: Any
) -> None:
    workers(), workers()
    run = await client_kernel.tasks.enqueue(
        "notes:write_note", owner=ada, slug="long", seconds=7
    )  # several leases long: the lease is renewed, the other worker keeps off
    done = await run_state(run.id, "succeeded", "failed", seconds=40)
    assert done.status == "succeeded", done.problem
    assert done.attempts == 1
    assert await Note.filter(slug="long").count() == 1


async def test_worker_progress_reaches_a_websocket_on_the_api(
    worker_env: dict[str, str], workers: Any
) -> None:
    """The task runs in a worker process; its progress crosses Redis to the API
    process, where the owner's websocket receives it after a status snapshot."""
    import json

    import httpx
    from websockets.asyncio.client import connect

    from kernel import create_app
    from kernel.testing import serve

    settings = Settings(
        env="test",
        access_log=False,
        database_url=worker_env["LYO_DATABASE_URL"],
        redis_url=worker_env["LYO_REDIS_URL"],
        redis_prefix=worker_env["LYO_REDIS_PREFIX"],
    )
    app = create_app(settings, [notes, users], discover=False)
    workers()
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        started = (
            await http.post("/api/notes/jobs", json={"slug": "ws", "seconds": 1.0}, headers=ADA)
        ).json()
        async with connect(url.replace("http", "ws") + "/ws", proxy=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "ada"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "subscribe", "topic": started["topic"]}))
            subscribed = json.loads(await ws.recv())
            assert subscribed["type"] == "subscribed"
            assert subscribed["snapshot"]["id"] == started["task_id"]
            seen: list[dict[str, Any]] = []
            status = subscribed["snapshot"]["status"]
            while status not in ("succeeded", "failed"):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "message":
                    seen.append(message["data"])
                    status = message["data"].get("status", status)
            assert status == "succeeded"
            assert any(0 < m.get("percent", 0) < 100 for m in seen)
        other = await http.get(started["status_url"], headers={"Authorization": "Bearer bob"})
        assert other.status_code == 404


async def test_sigterm_lets_a_worker_finish_its_running_task(
    client_kernel: Kernel, workers: Any
) -> None:
    worker = workers()
    run = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="g", seconds=2)
    await run_state(run.id, "running")
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0
    done = await TaskRun.get(id=run.id)
    assert done.status == "succeeded" and done.attempts == 1


async def test_a_stopping_worker_hands_back_a_task_it_cannot_finish(
    client_kernel: Kernel, workers: Any
) -> None:
    worker = workers(LYO_HOOK_TIMEOUT="1")  # waits 1 s for running tasks on SIGTERM
    run = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="hb", seconds=6)
    await run_state(run.id, "running")
    worker.send_signal(signal.SIGTERM)
    await asyncio.to_thread(worker.wait, 30)
    assert (await TaskRun.get(id=run.id)).status == "queued"  # handed back, not lost
    workers()
    done = await run_state(run.id, "succeeded", "failed", seconds=40)
    assert done.status == "succeeded" and done.attempts == 2
    assert await Note.filter(slug="hb").count() == 1


async def test_a_worker_survives_a_stalled_loop(client_kernel: Kernel, workers: Any) -> None:
    """redis-py times out a read after 5 s: a worker frozen longer (a GC pause, a
    blocking call, SIGSTOP here) must reconnect, not exit."""
    worker = workers()
    first = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="s1")
    await run_state(first.id, "succeeded")
    worker.send_signal(signal.SIGSTOP)
    await asyncio.sleep(7)
    worker.send_signal(signal.SIGCONT)
    later = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="s2")
    assert (await run_state(later.id, "succeeded", "failed")).status == "succeeded"
    assert worker.poll() is None


async def test_every_failed_send_of_a_batch_is_reported_and_the_rest_go(
    lyo_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = lyo_app.kernel.tasks
    sent: list[str] = []

    async def kick(spec: Any, meta: dict[str, Any], kwargs: dict[str, Any]) -> None:
        if kwargs["name"].startswith("bad"):
            raise ConnectionError(f"lost {kwargs['name']}")
        sent.append(kwargs["name"])

    monkeypatch.setattr(tasks.client, "send", kick)
    spec = tasks.specs["notes:echo"]
    sends = [
        (spec, {"task_id": str(n)}, {"name": name})
        for n, name in enumerate(["a", "bad1", "b", "bad2", "c"])
    ]
    with pytest.raises(ConnectionError, match="lost bad1"):
        await tasks.client.send_all(sends)
    assert sent == ["a", "b", "c"]


async def test_a_run_whose_message_never_left_is_sent_by_a_workers_reaper_once(
    client_kernel: Kernel, workers: Any
) -> None:
    """A crash between the commit and the send: the row has its arguments and no
    accepted send, and Redis never got the message. A worker's reaper sends it."""
    from redis.asyncio import Redis

    from kernel.tasks import REAP_GRACE, stream

    run = await client_kernel.tasks.enqueue("notes:write_note", owner=ada, slug="reaped")
    kept = await client_kernel.tasks.enqueue("notes:echo", owner=ada, name="kept")
    for _ in range(50):  # the accepted sends are recorded after the fact
        if await TaskRun.filter(id__in=[run.id, kept.id], sent_at__isnull=True).count() == 0:
            break
        await asyncio.sleep(0.1)
    settings = client_kernel.settings
    async with Redis.from_url(settings.redis_url) as redis:  # both messages are lost
        await redis.delete(stream(settings.redis_prefix, "default"))
    past = datetime.now(UTC) - timedelta(seconds=REAP_GRACE + 1)
    # the run's send was never accepted; kept's was (a long queue): never sent again
    await TaskRun.filter(id=run.id).update(sent_at=None, updated_at=past)
    await TaskRun.filter(id=kept.id).update(updated_at=past)
    workers()
    workers()  # two reapers, one send
    done = await run_state(run.id, "succeeded", "failed")
    assert done.status == "succeeded" and done.attempts == 1, done.problem
    assert done.sent_at is not None and done.args["kwargs"] == {"slug": "reaped"}
    assert await Note.filter(slug="reaped").count() == 1
    assert (await TaskRun.get(id=kept.id)).status == "queued"  # the same round left it


async def test_a_send_recorded_after_redis_lost_its_data_is_forgotten_again(
    client_kernel: Kernel,
) -> None:
    """Accepted sends are recorded up to a second late, with their acceptance time: one
    accepted before Redis lost its data but recorded after the reaper's first pass is
    forgotten by its second, so the reaper sends it again."""
    tasks = client_kernel.tasks
    run = await tasks.enqueue("notes:echo", owner=ada, name="late")
    await tasks.store.settle()
    accepted = (await TaskRun.get(id=run.id)).sent_at
    assert accepted is not None
    await TaskRun.filter(id=run.id).update(sent_at=None)  # not recorded yet when...
    lost = datetime.now(UTC)
    await tasks.reaper.forget_sends(lost)  # ...the loss is found
    await TaskRun.filter(id=run.id).update(sent_at=accepted)  # the late record
    tasks.reaper._lost = [(0.0, lost)]  # the second pass is due
    await tasks.reaper._forget_late()
    assert (await TaskRun.get(id=run.id)).sent_at is None  # for the reaper to send


async def test_a_send_not_recorded_in_time_is_left_for_the_reaper(client_kernel: Kernel) -> None:
    """A late record lands within SENT_LATEST of its acceptance or never (the reaper's
    later passes over a Redis loss rely on it): an older one is dropped, and the reaper
    sends its run again if it is still queued."""
    from kernel.tasks.store import SENT_LATEST

    store = client_kernel.tasks.store
    run = await client_kernel.tasks.enqueue("notes:echo", owner=ada, name="stale")
    await store.settle()
    await TaskRun.filter(id=run.id).update(sent_at=None)
    stale = datetime.now(UTC) - timedelta(seconds=SENT_LATEST + 1)
    await store._mark_sent([(run.id, stale)])
    assert (await TaskRun.get(id=run.id)).sent_at is None
    fresh = datetime.now(UTC)
    await store._mark_sent([(run.id, stale), (run.id, fresh)])
    assert (await TaskRun.get(id=run.id)).sent_at == fresh  # the kept one's time


async def test_a_dead_workers_entries_behind_a_thousand_pending_ones_are_claimed() -> None:
    """Redis scans at most ten times XAUTOCLAIM's COUNT (100) of pending entries per
    call: the broker goes on where its last scan stopped, so a dead worker's idle entries
    behind a thousand live pending ones are claimed on a later round (a scan that began
    at the start each round never reached them)."""
    from redis.asyncio import Redis

    from kernel.tasks.broker import ReclaimingStreamBroker

    url = os.environ.get("LYO_TEST_REDIS", "redis://127.0.0.1:6379/0")
    name = f"lyo-test-claim-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(url)
    broker = ReclaimingStreamBroker(
        url, queue_name=name, consumer_group_name="g", xread_block=1, idle_timeout=500
    )
    try:
        ids = [await redis.xadd(name, {b"data": b"{}"}) for _ in range(1205)]
        await redis.xgroup_create(name, "g", id="0")
        await redis.xreadgroup("g", "dead", {name: ">"}, count=2000)
        await asyncio.sleep(0.7)  # all idle; then the first 1,200 live again elsewhere
        await redis.xclaim(name, "g", "live", 0, ids[:1200], justid=True)
        claimed: list[Any] = []
        for _ in range(3):
            broker._claimed = 0.0  # a claim round every call, not once a second
            claimed += await broker._read(redis, [name])
        assert len(claimed) == 5
    finally:
        await redis.delete(name)
        await redis.aclose()
        await broker.shutdown()
