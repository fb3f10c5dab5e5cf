"""The generation task: load the model (once per process), generate in a thread while
streaming progress, validate, save through the learning plugin in one transaction.

Progress (``GET /api/tasks/{id}``, websocket ``task:{id}``): ``percent``, ``message``
and ``progress`` = ``{phase, field, text, tokens}``, where ``phase`` is ``queued``,
``loading``, ``outline``, ``lessons`` or ``saving`` and ``text`` the value being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import structlog
from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from kernel import Kernel, ServiceUnavailable, TaskContext, publish, task, transaction
from kernel.tasks import TaskCancelled

from .artifacts import ModelUnavailable, Source, problem
from .events import CourseGenerated
from .generation import Cancelled, CourseRequest, Draft, GenerationFailed, Generator, Limits
from .generation import Progress as Step
from .generation import compose as compose_course
from .models import Generation
from .schemas import GeneratedCourse
from .settings import AiSettings

NAME = "ai"
QUEUE = "default"  # generate_course's queue
log = structlog.get_logger("lyo.ai")
POLL = 0.1  # seconds between progress reports and cancellation checks


class State:
    """Whether generation is available, shared between API processes and workers through
    the kernel cache (Redis in production), so API processes never need the model
    runtime.

    Each process that runs generations (``kernel.consumes(QUEUE)``: a ``lyo worker``, or
    the development server with the in-memory broker) beats every ``heartbeat_interval``
    seconds: ``workers:ready`` when it can generate (the runtime and the model's files
    are there, no load failure), else ``workers:unavailable`` with its reason; both live
    for three intervals. A load failure in any process is shared as ``degraded`` for
    ``load_retry_after`` seconds."""

    KEY = "degraded"
    READY = "workers:ready"
    UNAVAILABLE = "workers:unavailable"

    @staticmethod
    def local(kernel: Kernel) -> str | None:
        """Why this process cannot generate (``None``: it can), found without loading."""
        degraded = kernel.plugin(NAME).degraded
        if degraded or RUNNER.installed is not None:
            return degraded
        settings: AiSettings = kernel.settings_for(NAME)
        return problem(Source.parse(settings.model))

    @staticmethod
    async def reason(kernel: Kernel) -> str | None:
        """Why a generation requested now would not run (``None``: it would)."""
        cache = kernel.cache.for_plugin(NAME)
        shared = await cache.get(State.KEY)
        if kernel.consumes(QUEUE):  # generations run here: this process knows
            return State.local(kernel) or shared
        if shared:
            return str(shared)
        if await cache.get(State.READY):
            return None
        unavailable = await cache.get(State.UNAVAILABLE)
        if unavailable:
            return f"no worker can generate: {unavailable}"
        window = 3 * kernel.settings_for(NAME).heartbeat_interval
        return (
            f"no worker has reported in the last {window:g} s: "
            "start `lyo worker` where the model runtime is installed "
            "(pip install torch==2.13.0 'lyo-ai[model]')"
        )

    @staticmethod
    async def beat(kernel: Kernel) -> None:
        """Report this process's model state (a worker's heartbeat)."""
        settings: AiSettings = kernel.settings_for(NAME)
        cache = kernel.cache.for_plugin(NAME)
        ttl = 3 * settings.heartbeat_interval
        reason = State.local(kernel)
        if reason is None:
            from .runtime import RUNTIME

            loaded = RUNNER.installed is not None or RUNTIME.generator is not None
            await cache.set(State.READY, "loaded" if loaded else "loads on first use", ttl=ttl)
        else:
            await cache.set(State.UNAVAILABLE, reason, ttl=ttl)

    @staticmethod
    async def beating(kernel: Kernel) -> None:
        interval = kernel.settings_for(NAME).heartbeat_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await State.beat(kernel)
            except Exception as exc:  # the cache degrades to misses; keep beating
                log.warning("ai heartbeat failed", error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    async def fail(kernel: Kernel, reason: str, ttl: float) -> None:
        kernel.set_degraded(NAME, reason)
        await kernel.cache.for_plugin(NAME).set(State.KEY, reason, ttl=ttl)

    @staticmethod
    async def recover(kernel: Kernel) -> None:
        kernel.set_degraded(NAME, None)
        await kernel.cache.for_plugin(NAME).delete(State.KEY)


class Runner:
    """Per-process: the generator (a loaded model, or one installed by tests and
    benchmarks with :meth:`install`) and the lock that makes generations take turns."""

    def __init__(self) -> None:
        self.installed: Generator | None = None
        self.turn = threading.Lock()

    def install(self, generator: Generator | None) -> None:
        """Use ``generator`` instead of loading the model (``None``: load it again)."""
        self.installed = generator

    async def generator(self, kernel: Kernel, settings: AiSettings) -> Generator:
        if self.installed is not None:
            return self.installed
        from .runtime import RUNTIME

        if RUNTIME.generator is not None:
            return RUNTIME.generator
        breaker = kernel.circuit_breaker(
            NAME,
            "model-load",
            failure_threshold=settings.load_failure_threshold,
            reset_timeout=settings.load_retry_after,
        )
        try:
            async with breaker:
                generator = await asyncio.to_thread(RUNTIME.get, settings)
        except ServiceUnavailable:
            raise  # the breaker is open: fail fast, the reason is already recorded
        except Exception as exc:
            reason = (
                str(exc) if isinstance(exc, ModelUnavailable) else f"{type(exc).__name__}: {exc}"
            )
            await State.fail(kernel, f"model unavailable: {reason}", settings.load_retry_after)
            raise ServiceUnavailable(f"The model could not be loaded: {reason}") from exc
        await State.recover(kernel)
        return generator


RUNNER = Runner()


def limits(settings: AiSettings) -> Limits:
    return Limits(
        title_tokens=settings.max_title_tokens,
        summary_tokens=settings.max_summary_tokens,
        content_tokens=settings.max_content_tokens,
    )


async def generate(
    ctx: TaskContext, generator: Generator, request: CourseRequest, settings: AiSettings
) -> Draft:
    """Run :func:`compose_course` in a thread, reporting its progress every ``POLL`` s
    and stopping it within one token of a cancellation."""
    latest: list[Step] = []
    stop = threading.Event()

    def work() -> Draft:
        while not RUNNER.turn.acquire(timeout=POLL):  # another generation is running
            if stop.is_set():
                raise Cancelled()
        try:
            latest.append(Step("outline", 0.0, "", "", 0))
            return compose_course(
                generator,
                request,
                limits=limits(settings),
                report=latest.append,
                should_stop=stop.is_set,
            )
        finally:
            RUNNER.turn.release()

    job = asyncio.ensure_future(asyncio.to_thread(work))
    shown: Step | None = None
    waiting = False
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=POLL)
            step = latest[-1] if latest else None
            del latest[:-1]
            if step is not None and step is not shown:
                shown = step
                await ctx.progress(
                    10.0 + 0.85 * step.percent,
                    f"Writing {step.field or 'the course'}" if step.phase else None,
                    phase=step.phase,
                    field=step.field,
                    text=step.text,
                    tokens=step.tokens,
                )
            elif step is None and not waiting:
                waiting = True
                await ctx.progress(5.0, "Waiting for the model", phase="queued")
            else:
                await ctx.check_cancelled()
        return job.result()
    except (TaskCancelled, asyncio.CancelledError):
        stop.set()
        with contextlib.suppress(Cancelled, Exception):
            await asyncio.shield(job)
        raise
    except Cancelled as exc:
        raise TaskCancelled() from exc


@task(
    "ai:generate_course",
    queue=QUEUE,
    retries=1,
    backoff=2.0,
    kind="ai.course",
    max_per_owner=1,  # the kernel's limit per user (LYO_TASK_LIMITS overrides it)
)
async def generate_course(
    ctx: TaskContext, topic: str, level: str, lesson_count: int, language: str = "English"
) -> dict[str, Any]:
    """Generate a course and save it as a draft owned by the requester; the result is
    ``{course_id, title, lessons, tokens, seconds}``. Idempotent by task id."""
    kernel = ctx.kernel
    settings: AiSettings = kernel.settings_for(NAME)
    done = await Generation.get_or_none(task_id=ctx.id)
    if done is not None:  # a redelivery after the course was saved
        return _result(done)
    started = time.perf_counter()
    await ctx.progress(0.0, "Loading the model", phase="loading", tokens=0, text="", field="")
    generator = await RUNNER.generator(kernel, settings)
    request = CourseRequest(topic, level, lesson_count, language)
    try:
        draft = await asyncio.wait_for(
            generate(ctx, generator, request, settings), settings.timeout
        )
    except GenerationFailed as exc:
        raise ServiceUnavailable(f"Generation failed: {exc}") from exc
    try:
        course = GeneratedCourse.model_validate(
            draft.as_dict(), context={"lesson_count": lesson_count}
        )
    except ValidationError as exc:
        raise ServiceUnavailable(f"The generated course is not valid: {exc}") from exc
    await ctx.progress(95.0, "Saving the course", phase="saving", field="", text="")
    await ctx.check_cancelled(force=True)  # the last chance to cancel: now, not throttled
    return await save(ctx, course, request, generator.name, draft.tokens, started)


async def save(
    ctx: TaskContext,
    course: GeneratedCourse,
    request: CourseRequest,
    model: str,
    tokens: int,
    started: float,
) -> dict[str, Any]:
    """Save ``course`` through the learning plugin, with its :class:`Generation` row and
    the ``ai.course_generated.v1`` event, in one transaction."""
    from lyo_learning.api import create_course

    owner = ctx.identity.id or ""
    seconds = round(time.perf_counter() - started, 2)
    try:
        async with transaction():
            saved = await create_course(
                {
                    "title": course.title,
                    "description": course.description,
                    "level": request.level,
                    "status": "draft",
                    "metadata": {
                        "generator": "lyo-ai",
                        "model": model,
                        "task_id": str(ctx.id),
                        "topic": request.topic,
                        "language": request.language,
                    },
                    "lessons": [
                        {
                            "title": lesson.title,
                            "content": [
                                {"type": "text", "text": lesson.summary, "format": "plain"},
                                {"type": "text", "text": lesson.content, "format": "plain"},
                            ],
                        }
                        for lesson in course.lessons
                    ],
                },
                author_id=owner,
            )
            row = await Generation.create(
                task_id=ctx.id,
                owner_id=owner,
                course_id=saved.id,
                topic=request.topic[:200],
                model=model[:300],
                tokens=tokens,
                seconds=seconds,
            )
            await publish(
                CourseGenerated(
                    course_id=saved.id,
                    task_id=ctx.id,
                    owner_id=owner,
                    topic=request.topic,
                    lesson_count=len(course.lessons),
                    model=model,
                    tokens=tokens,
                )
            )
    except IntegrityError:  # saved meanwhile by another delivery of this task
        existing = await Generation.get_or_none(task_id=ctx.id)
        if existing is None:
            raise
        return _result(existing)
    return _result(row, title=course.title, lessons=len(course.lessons))


def _result(row: Generation, **extra: Any) -> dict[str, Any]:
    return {
        "course_id": str(row.course_id),
        "tokens": row.tokens,
        "seconds": row.seconds,
        "model": row.model,
        **extra,
    }
