"""``lyo ai prepare``, ``lyo ai info`` and ``lyo ai eval``."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import click

from kernel import Kernel, with_kernel_loaded

from .artifacts import Artifacts, ModelUnavailable, problem
from .settings import NAME, AiSettings


def _settings(kernel: Kernel) -> AiSettings:
    return kernel.settings_for(NAME)  # type: ignore[no-any-return]


@click.command()
@with_kernel_loaded
async def prepare(kernel: Kernel) -> None:
    """Fetch, verify and convert the model into LYO_AI__CACHE_DIR, so workers load it
    in seconds."""
    settings = _settings(kernel)
    artifacts = Artifacts(settings)
    click.echo(f"source: {artifacts.source.describe()}")
    try:
        with click.progressbar(length=1, label="fetching", show_pos=False) as bar:

            def fetched(done: int, total: int | None) -> None:
                bar.length = total or done
                bar.update(done - bar.pos)

            path = artifacts.locate(on_bytes=fetched)
        size = (
            sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
        )
        with click.progressbar(length=size, label="verifying sha256") as bar:
            digest = artifacts.verify(path, on_bytes=bar.update)
        click.echo(f"sha256: {digest}")
        from .model import device_and_dtype, load

        steps = ["locate", "verify", "convert or load"]
        with click.progressbar(steps, label="loading") as bar:
            started = time.perf_counter()
            loaded = load(settings, report=lambda message: bar.update(1))
        _, dtype = device_and_dtype(settings)
    except ModelUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    where = "from the cache" if loaded.from_cache else "converted and cached"
    click.echo(f"model ready ({where}) in {time.perf_counter() - started:.1f} s: {dtype}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_kernel_loaded
async def info(kernel: Kernel, as_json: bool) -> None:
    """Show the model source, its digest, the cache state, dtype and device."""
    settings = _settings(kernel)
    artifacts = Artifacts(settings)
    data: dict[str, object] = {
        "source": artifacts.source.describe(),
        "cache_dir": str(artifacts.root),
        "problem": problem(artifacts.source),
        "expected_sha256": artifacts.expected() or None,
        "recorded_sha256": artifacts.recorded().get(settings.model),
        "dtype": settings.dtype,
        "device": settings.device,
        "prompt": settings.prompt,
    }
    digest = data["expected_sha256"] or data["recorded_sha256"]
    if digest and artifacts.source.kind != "directory":
        if importlib.util.find_spec("torch") is not None:
            from .model import device_and_dtype

            data["device"], data["dtype"] = device_and_dtype(settings)
        converted = artifacts.converted_dir(str(digest), str(data["dtype"]))
        data["converted"] = str(converted)
        data["converted_ready"] = artifacts.is_complete(converted)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


@click.command("eval")
@click.option("--topics", type=int, default=0, help="The first N topics (default: all).")
@click.option("--lessons", type=int, default=2, show_default=True, help="Lessons per course.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON.")
@with_kernel_loaded
async def evaluate(kernel: Kernel, topics: int, lessons: int, seed: int, save: Path | None) -> None:
    """Generate courses on the evaluation's fixed topics with the configured model and
    print each quality check's pass rate (slow: about a minute per course on a CPU)."""
    import asyncio

    from .evaluation import TOPICS
    from .evaluation import evaluate as run

    settings = _settings(kernel)
    try:
        await asyncio.to_thread(
            run, settings, topics=topics or len(TOPICS), lessons=lessons, seed=seed,
            out=click.echo, save=save,
        )  # fmt: skip
    except (ModelUnavailable, ImportError) as exc:
        raise click.ClickException(str(exc)) from exc
