"""Review (rev18): the split of a batch that failed its last try must not depend on
Redis being up. A single delivery's dead letter is a database row; a batch's split
sent its runs' messages outside any transaction, so with Redis down the runs were
cancelled, the split raised and the batch's run was left 'running', never finished
and never re-queued: if Redis then came back without its streams, its events were
never delivered nor dead-lettered. Redis here is a real address nothing listens on."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kernel.data.models import TaskRun
from kernel.events.delivery import dead_letter
from tests.notes import plugin as notes
from tests.test_events_batch import _envelope


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes]


class _Redis:
    """A private redis-server this test starts and kills (the shared one stays up)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis() -> Iterator[_Redis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    redis = _Redis()
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
def lyo_redis_url(private_redis: _Redis) -> str | None:
    return f"redis://127.0.0.1:{private_redis.port}/0"


async def test_a_split_with_redis_down_leaves_its_runs_for_the_reaper(
    lyo_app: Any, private_redis: _Redis
) -> None:
    lyo_app.kernel.activate()
    if lyo_app.kernel.db.dialect != "postgres":
        pytest.skip("the reaper works on PostgreSQL")
    private_redis.kill()  # the operator kills Redis as the batch fails its last try
    batch = [_envelope("s1"), _envelope("s2")]
    problem = {"title": "Task failed", "status": 500, "detail": "no"}
    await dead_letter({"handler_id": "notes:batch", "envelopes": batch}, 2, problem)
    runs = await TaskRun.filter(name="kernel:deliver")
    assert sorted(r.args["kwargs"]["envelopes"][0]["payload"]["slug"] for r in runs) == [
        "s1",
        "s2",
    ]
    # queued, never sent: the reaper sends them once Redis is back
    assert {(r.status, r.sent_at) for r in runs} == {("queued", None)}
    private_redis.start()  # back, empty
    assert await lyo_app.kernel.tasks.reaper.reap(grace=0) == 2
