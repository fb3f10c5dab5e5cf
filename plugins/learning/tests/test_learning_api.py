"""The public Python API (``lyo_learning.api``) other plugins call: it joins the caller's
transaction, so a course and its events exist only if the caller commits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from learning_support import INSTRUCTOR, auth, lesson, published
from lyo_learning.api import CourseCreate, LessonIn, create_course, get_course
from lyo_learning.models import Course, Lesson
from quart import Blueprint

from kernel import Conflict, Manifest, NotFound, ValidationFailed, transaction
from kernel.testing import make_plugin

generator_bp = Blueprint("generator", __name__)


@generator_bp.post("/courses")
async def generate() -> tuple[dict[str, str], int]:
    course = await create_course({"title": "Generated", "lessons": [lesson("one")]})
    return {"id": str(course.id)}, 201


#: A stand-in for the ``ai`` plugin: it requires ``learning`` and calls its public API.
generator = make_plugin(
    "generator",
    manifest=Manifest(name="generator", version="0.1.0", requires={"learning": ">=0.1"}),
    blueprints=lambda kernel: [generator_bp],
)


@pytest.fixture
def lyo_plugins(lyo_plugins: list[object]) -> list[object]:
    return [*lyo_plugins, generator]


async def settle() -> None:
    await asyncio.sleep(0.05)  # in-process event handlers run right after commit


async def test_creates_a_course_with_lessons_in_order(lyo_app: Any) -> None:
    course = await create_course(
        CourseCreate(
            title="Generated: Photosynthesis",
            status="published",
            tags=["biology"],
            lessons=[LessonIn(title=f"Part {n}", estimated_minutes=n) for n in range(4)],
        ),
        author_id=INSTRUCTOR.id,
        metadata={"generator": "gemma-3-270m"},
    )
    assert course.slug == "generated-photosynthesis"
    assert [x.title for x in course.lessons] == ["Part 0", "Part 1", "Part 2", "Part 3"]
    assert [x.position for x in course.lessons] == [0, 1, 2, 3]
    assert course.metadata == {"generator": "gemma-3-270m"}
    assert (await get_course(course.id)) == course
    await settle()
    assert [e["course_id"] for e in published("learning.course_published.v1")] == [str(course.id)]


async def test_joins_the_callers_transaction_and_rolls_back_with_it(lyo_app: Any) -> None:
    class CallerFailed(Exception):
        pass

    with pytest.raises(CallerFailed):
        async with transaction():
            course = await create_course(
                {"title": "Never", "status": "published", "lessons": [lesson("a")]},
                author_id=INSTRUCTOR.id,
            )
            assert await Course.exists(id=course.id)  # visible inside the transaction
            raise CallerFailed
    assert not await Course.exists(id=course.id)
    assert not await Lesson.exists(course_id=course.id)
    await settle()
    assert published("learning.course_published.v1") == []


async def test_a_failure_inside_leaves_the_callers_transaction_usable(lyo_app: Any) -> None:
    async with transaction():
        kept = await create_course({"title": "Kept", "slug": "kept"}, author_id=INSTRUCTOR.id)
        with pytest.raises(Conflict):
            await create_course({"title": "Clash", "slug": "kept"}, author_id=INSTRUCTOR.id)
        after = await create_course({"title": "After", "slug": "after"}, author_id=INSTRUCTOR.id)
    assert await Course.filter(id__in=[kept.id, after.id]).count() == 2


async def test_invalid_input_raises_a_422_naming_fields(lyo_app: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await create_course(
            {"title": "", "lessons": [{"title": "ok"}, {"title": "x", "estimated_minutes": -1}]},
            author_id=INSTRUCTOR.id,
        )
    pointers = {e["pointer"] for e in caught.value.extra["errors"]}
    assert pointers == {"/title", "/lessons/1/estimated_minutes"}
    assert caught.value.status == 422


async def test_author_defaults_to_the_current_identity(lyo_client: Any) -> None:
    """As the ``ai`` plugin would call it: from its own route, as the signed-in caller."""
    response = await lyo_client.post("/api/generator/courses", headers=auth("instructor"))
    assert response.status_code == 201, await response.get_data(as_text=True)
    course = await get_course((await response.get_json())["id"])
    assert course.author_id == INSTRUCTOR.id
    with pytest.raises(ValueError, match="author_id"):
        await create_course({"title": "Nobody's"})  # no identity here


async def test_get_course_of_an_unknown_id_is_not_found(lyo_app: Any) -> None:
    with pytest.raises(NotFound):
        await get_course("00000000-0000-0000-0000-000000000000")  # type: ignore[arg-type]


async def test_enrolled_user_ids_lists_a_courses_learners(lyo_app: Any) -> None:
    from lyo_learning.api import enrolled_user_ids
    from lyo_learning.progress import enroll

    course = await create_course(
        {"title": "Knots", "status": "published", "lessons": [lesson("one")]},
        author_id=INSTRUCTOR.id,
    )
    assert await enrolled_user_ids(course.id) == []
    for user_id in ("u-2", "u-1", "u-2"):
        await enroll(course.id, user_id)
    assert await enrolled_user_ids(course.id) == ["u-1", "u-2"]
    with pytest.raises(NotFound):
        await enrolled_user_ids("00000000-0000-0000-0000-000000000000")  # type: ignore[arg-type]
