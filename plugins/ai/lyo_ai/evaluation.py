"""The quality evaluation: generate a course for each of a fixed list of topics with the
configured model and score it with :mod:`.quality`. Run by ``bench/ai_quality.py`` and
``lyo ai eval``; needs the model runtime and sentence-transformers."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import quality
from .generation import CourseRequest, GenerationFailed
from .settings import AiSettings

#: (topic, level, language): subjects and levels a platform's authors would ask for.
TOPICS: list[tuple[str, str, str]] = [
    ("Python lists", "beginner", "English"),
    ("Photosynthesis", "beginner", "English"),
    ("The French Revolution", "intermediate", "English"),
    ("First aid basics", "beginner", "English"),
    ("Introduction to statistics", "beginner", "English"),
    ("Watercolour painting", "beginner", "English"),
    ("Personal budgeting", "beginner", "English"),
    ("Plate tectonics", "intermediate", "English"),
    ("Chords in music theory", "intermediate", "English"),
    ("Baking bread at home", "beginner", "English"),
    ("Machine learning fundamentals", "intermediate", "English"),
    ("The human heart", "intermediate", "English"),
    ("Climate change", "beginner", "English"),
    ("Shakespeare's sonnets", "advanced", "English"),
    ("Vectors and matrices", "advanced", "English"),
    ("Organic vegetable gardening", "beginner", "English"),
    ("Negotiation skills", "intermediate", "English"),
    ("The Roman Empire", "beginner", "English"),
    ("Basic electrical circuits", "intermediate", "English"),
    ("Composition in photography", "beginner", "English"),
    ("Le système solaire", "beginner", "French"),
]


@dataclass
class Outcome:
    request: CourseRequest
    course: dict[str, Any] | None
    report: quality.Report
    seconds: float
    tokens: int  # generated, discarded candidates and tries included
    discarded: int = 0  # of which not kept


def evaluate(
    settings: AiSettings,
    *,
    topics: int = len(TOPICS),
    start: int = 0,
    lessons: int = 2,
    seed: int = 0,
    out: Callable[[str], None] = print,
    save: Path | None = None,
) -> list[Outcome]:
    """Generate and score ``topics`` courses of :data:`TOPICS` from the ``start``-th; print
    one line per course, then each check's pass rate and the share passing every check."""
    import torch

    from .model import TorchGenerator, load
    from .tasks import compose_with

    embed = quality.load_embedder()
    loaded = load(settings)
    generator = TorchGenerator(loaded, settings)
    out(
        f"model: {settings.model} ({loaded.dtype} on {loaded.device}, prompt "
        f"{generator.prompt_style}), seed {seed}, torch threads {torch.get_num_threads()}, "
        f"{lessons} lessons per course"
    )
    outcomes: list[Outcome] = []
    for i, (topic, level, language) in enumerate(TOPICS[: start + topics]):
        if i < start:
            continue
        request = CourseRequest(topic, level, lessons, language)
        torch.manual_seed(seed + i)
        started = time.perf_counter()
        try:
            draft = compose_with(generator, request, settings, embed=embed, seed=seed + i)
            course: dict[str, Any] | None = draft.as_dict()
            tokens, discarded = draft.tokens, draft.discarded
            report = quality.check(quality.Course.of(topic, draft.as_dict(), language), embed)
        except GenerationFailed as exc:
            course, tokens, discarded, report = None, 0, 0, quality.Report()
            report.fail("complete", str(exc))
        seconds = time.perf_counter() - started
        outcomes.append(Outcome(request, course, report, seconds, tokens, discarded))
        verdict = (
            "pass"
            if report.ok
            else "FAIL " + "; ".join(f"{name}: {why[0]}" for name, why in report.failures.items())
        )
        out(f"{i + 1:2}. {topic} ({level}, {language}): {seconds:.0f} s, {tokens} tok: {verdict}")
    out(summary(outcomes))
    if save is not None:
        save.write_text(
            json.dumps(
                [
                    {
                        "topic": o.request.topic,
                        "level": o.request.level,
                        "language": o.request.language,
                        "course": o.course,
                        "failures": o.report.failures,
                        "scores": o.report.scores,
                        "seconds": round(o.seconds, 1),
                        "tokens": o.tokens,
                        "discarded": o.discarded,
                    }
                    for o in outcomes
                ],
                indent=1,
                ensure_ascii=False,
            )
        )
    return outcomes


def rescore(path: Path, out: Callable[[str], None] = print) -> list[Outcome]:
    """Score the courses saved by :func:`evaluate` (``save``) again with today's checks:
    the figures of runs made with earlier checks become comparable."""
    embed = quality.load_embedder()
    known = {topic: (level, language) for topic, level, language in TOPICS}
    outcomes: list[Outcome] = []
    for item in json.loads(path.read_text()):
        level, language = known.get(item["topic"], ("beginner", "English"))
        language = item.get("language", language)
        course = item["course"]
        request = CourseRequest(
            item["topic"], level, len((course or {}).get("lessons", [])), language
        )
        if course is None:
            report = quality.Report()
            report.fail("complete", "generation failed")
        else:
            report = quality.check(quality.Course.of(item["topic"], course, language), embed)
        outcomes.append(
            Outcome(
                request, course, report, item["seconds"], item["tokens"], item.get("discarded", 0)
            )
        )
        verdict = "pass" if report.ok else "FAIL " + "; ".join(report.failures)
        out(f"{item['topic']}: {verdict}")
    out(summary(outcomes))
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    n = len(outcomes) or 1
    lines = ["check              pass rate"]
    for name in quality.CHECKS:
        passed = sum(o.report.passed(name) for o in outcomes)
        lines.append(f"  {name:16} {passed / n:6.0%}  ({passed}/{len(outcomes)})")
    passed = sum(o.report.ok for o in outcomes)
    lines.append(f"every check        {passed / n:6.0%}  ({passed}/{len(outcomes)})")
    if outcomes:
        seconds = statistics.median(o.seconds for o in outcomes)
        tokens = statistics.median(o.tokens for o in outcomes)
        discarded = statistics.median(o.discarded for o in outcomes)
        lines.append(
            f"per course (median): {seconds:.0f} s, {tokens:.0f} tokens generated, of which "
            f"{discarded:.0f} in candidates and tries not kept"
        )
    return "\n".join(lines)
