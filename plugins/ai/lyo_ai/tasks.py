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

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from kernel import ServiceUnavailable, TaskCancelled, TaskContext, publish, task, transaction

from . import quality
from .events import CourseGenerated
from .generation import Cancelled, CourseRequest, Draft, GenerationFailed, Generator, Limits
from .generation import Progress as Step
from .generation import compose as compose_course
from .models import Generation
from .schemas import GeneratedCourse
from .settings import AiSettings, plugin
from .workers import QUEUE, RUNNER

POLL = 0.1  # seconds between progress reports and cancellation checks


def limits(settings: AiSettings) -> Limits:
    return Limits(
        title_tokens=settings.max_title_tokens,
        summary_tokens=settings.max_summary_tokens,
        content_tokens=settings.max_content_tokens,
        candidates=settings.candidates,
        retries=settings.retries,
    )


def compose_with(
    generator: Generator,
    request: CourseRequest,
    settings: AiSettings,
    *,
    embed: Any = None,
    seed: int = 0,
    report: Any = lambda step: None,
    should_stop: Any = lambda: False,
) -> Draft:
    """:func:`compose_course` with the plugin's settings."""
    return compose_course(
        generator,
        request,
        limits=limits(settings),
        report=report,
        should_stop=should_stop,
        embed=embed,
        seed=seed,
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
            return compose_with(
                generator,
                request,
                settings,
                embed=getattr(generator, "embed", None),
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
    settings: AiSettings = plugin.settings
    done = await Generation.get_or_none(task_id=ctx.id)
    if done is not None:  # a redelivery after the course was saved
        return _result(done)
    started = time.perf_counter()
    await ctx.progress(0.0, "Loading the model", phase="loading", tokens=0, text="", field="")
    generator = await RUNNER.generator(settings)
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
    checked = await asyncio.to_thread(  # the embedding model: not on the event loop
        quality.check,
        quality.Course.of(request.topic, course.model_dump(), request.language),
        getattr(generator, "embed", None),
    )
    await ctx.progress(95.0, "Saving the course", phase="saving", field="", text="")
    await ctx.check_cancelled(force=True)  # the last chance to cancel: now, not throttled
    return await save(ctx, course, request, generator.name, draft.tokens, started, checked)


async def save(
    ctx: TaskContext,
    course: GeneratedCourse,
    request: CourseRequest,
    model: str,
    tokens: int,
    started: float,
    checked: quality.Report,
) -> dict[str, Any]:
    """Save ``course`` through the learning plugin, with its :class:`Generation` row and
    the ``ai.course_generated.v1`` event, in one transaction. The course is a draft
    marked machine-generated in its metadata, with the checks it failed."""
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
                        "machine_generated": True,
                        "quality": {"passed": checked.ok, "failed": sorted(checked.failures)},
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
    return _result(row, title=course.title, lessons=len(course.lessons), quality_passed=checked.ok)


def _result(row: Generation, **extra: Any) -> dict[str, Any]:
    return {
        "course_id": str(row.course_id),
        "tokens": row.tokens,
        "seconds": row.seconds,
        "model": row.model,
        "machine_generated": True,
        **extra,
    }
