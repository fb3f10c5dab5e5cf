"""Quizzes: answers hidden from learners, grading on the server, attempts (their limit
under concurrency, best or last score), completion at the pass mark, and recorded scores
that survive a change of the quiz."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from learning_support import LEARNER, auth, published
from lyo_learning.models import LessonProgress, QuizAttempt

from kernel import Settings, create_app
from kernel.testing import serve

API = "/api/learning"
QUIZ = [
    {"type": "text", "text": "Read this first."},
    {"type": "quiz", "question": "2 + 2?", "options": ["3", "4", "5"], "answer": 1},
    {
        "type": "quiz",
        "kind": "multiple",
        "question": "Primes?",
        "options": ["2", "4", "5", "9"],
        "answers": [2, 0],
    },
    {"type": "quiz", "kind": "text", "question": "Capital of France?", "accepted": ["Paris"]},
    {
        "type": "quiz",
        "kind": "text",
        "question": "Symbol of iron?",
        "accepted": ["Fe"],
        "match": "exact",
    },
]
RIGHT = [1, [0, 2], "  paris. ", "Fe"]


def body(quiz: list[dict[str, Any]] = QUIZ, pass_mark: int | None = 75) -> dict[str, Any]:
    lessons = [
        {"title": "Intro", "content": [{"type": "text", "text": "Hello."}]},
        {"title": "Check", "content": quiz, "pass_mark": pass_mark},
    ]
    return {"title": "Quizzed", "slug": "quizzed", "status": "published", "lessons": lessons}


async def quizzed_course(client: Any, enroll: str | None = "learner", **kw: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/courses", json=body(**kw), headers=auth("instructor"))
    assert response.status_code == 201, await response.get_data()
    course: dict[str, Any] = await response.get_json()
    if enroll:
        await client.post(f"{API}/courses/{course['id']}/enroll", headers=auth(enroll))
    return course


async def submit(
    client: Any, lesson_id: str, answers: list[Any], token: str = "learner", **extra: Any
) -> Any:
    return await client.post(
        f"{API}/lessons/{lesson_id}/quiz", json={"answers": answers, **extra}, headers=auth(token)
    )


async def test_learners_never_see_the_answers(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client)
    url = f"{API}/courses/{course['id']}"
    for headers in ({}, auth("learner"), auth("other-instructor")):
        lessons = (await (await lyo_client.get(url, headers=headers)).get_json())["lessons"]
        quiz = [b for b in lessons[1]["content"] if b["type"] == "quiz"]
        assert [sorted(b) for b in quiz] == [
            ["kind", "options", "question", "type"],
            ["kind", "options", "question", "type"],
            ["kind", "match", "question", "type"],
            ["kind", "match", "question", "type"],
        ]
        assert lessons[1]["quiz_version"] == 1 and lessons[1]["pass_mark"] == 75
    for token in ("instructor", "admin"):  # the author, and a manager (through ``*``)
        lessons = (await (await lyo_client.get(url, headers=auth(token))).get_json())["lessons"]
        assert lessons[1]["content"][1]["answer"] == 1
        assert lessons[1]["content"][2]["answers"] == [0, 2]  # kept sorted
        assert lessons[1]["content"][3]["accepted"] == ["Paris"]


async def test_grading_on_the_server_completes_the_lesson_at_the_pass_mark(
    lyo_client: Any,
) -> None:
    course = await quizzed_course(lyo_client)
    lesson_id = course["lessons"][1]["id"]
    progress = await lyo_client.put(
        f"{API}/lessons/{lesson_id}/progress", json={"percent": 100}, headers=auth("learner")
    )
    assert (await progress.get_json())["status"] == "in_progress"  # 100 % is not a pass
    failed = await submit(lyo_client, lesson_id, [1, [0], "Lyon", "fe"])
    assert failed.status_code == 201
    result = await failed.get_json()
    assert result["results"] == [True, False, False, False]
    assert (result["score"], result["passed"], result["lesson_completed"]) == (25, False, False)
    assert (result["attempt"], result["attempts_left"], result["pass_mark"]) == (1, 2, 75)
    assert published("learning.lesson_completed.v1") == []
    passed = await (await submit(lyo_client, lesson_id, [1, [2, 0], "  PARIS! ", None])).get_json()
    assert passed["results"] == [True, True, True, False]
    assert (passed["score"], passed["passed"], passed["lesson_completed"]) == (75, True, True)
    (completed,) = published("learning.lesson_completed.v1")
    assert (completed["attempts"], completed["score"]) == (2, 75)
    attempts = published("learning.quiz_attempted.v1")
    assert [(a["attempt"], a["score"], a["passed"]) for a in attempts] == [
        (1, 25, False),
        (2, 75, True),
    ]
    assert attempts[0]["user_id"] == LEARNER.id and attempts[0]["quiz_version"] == 1
    # the other lesson done too: the course completes
    await lyo_client.put(
        f"{API}/lessons/{course['lessons'][0]['id']}/progress",
        json={"percent": 100},
        headers=auth("learner"),
    )
    assert len(published("learning.course_completed.v1")) == 1


async def test_attempts_are_limited_and_the_best_score_counts(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client)
    lesson_id = course["lessons"][1]["id"]
    scores = []
    for answers in ([1, [0, 2], "paris", None], [None] * 4, [1, None, None, None]):
        result = await (await submit(lyo_client, lesson_id, answers)).get_json()
        scores.append((result["score"], result["counted_score"]))
    assert scores == [(75, 75), (0, 75), (25, 75)]
    refused = await submit(lyo_client, lesson_id, RIGHT)
    assert refused.status_code == 409
    assert refused.content_type == "application/problem+json"
    row = await LessonProgress.get(user_id=LEARNER.id, lesson_id=lesson_id)
    assert (row.attempts, row.score, row.status) == (3, 75, "completed")


@pytest.fixture
def last_score(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_LEARNING__QUIZ_SCORE", "last")
    monkeypatch.setenv("LYO_LEARNING__QUIZ_MAX_ATTEMPTS", "0")


async def test_the_last_score_counts_when_configured(last_score: None, lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client)
    lesson_id = course["lessons"][1]["id"]
    for answers, counted in ((RIGHT, 100), ([None] * 4, 0), ([1, None, None, None], 25)):
        result = await (await submit(lyo_client, lesson_id, answers)).get_json()
        assert result["counted_score"] == counted and result["attempts_left"] is None
    row = await LessonProgress.get(user_id=LEARNER.id, lesson_id=lesson_id)
    assert (row.attempts, row.score, row.status) == (3, 25, "completed")  # never undone


async def test_changing_the_quiz_keeps_recorded_scores(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client)
    lesson_id = course["lessons"][1]["id"]
    first = await (await submit(lyo_client, lesson_id, RIGHT, quiz_version=1)).get_json()
    assert first["score"] == 100
    changed = [QUIZ[0], {**QUIZ[1], "answer": 2}]  # the right answer is now "5"
    response = await lyo_client.patch(
        f"{API}/lessons/{lesson_id}", json={"content": changed}, headers=auth("instructor")
    )
    assert (await response.get_json())["quiz_version"] == 2
    stale = await submit(lyo_client, lesson_id, [1], quiz_version=1)
    assert stale.status_code == 409
    second = await (await submit(lyo_client, lesson_id, [1], quiz_version=2)).get_json()
    assert (second["score"], second["quiz_version"], second["counted_score"]) == (0, 2, 100)
    attempts = (
        await QuizAttempt.filter(lesson_id=lesson_id).order_by("number").prefetch_related("quiz")
    )
    assert [(a.score, a.quiz.version, len(a.quiz.questions)) for a in attempts] == [
        (100, 1, 4),
        (0, 2, 1),
    ]
    title_only = await lyo_client.patch(
        f"{API}/lessons/{lesson_id}", json={"title": "Renamed"}, headers=auth("instructor")
    )
    assert (await title_only.get_json())["quiz_version"] == 2  # the quiz did not change


@pytest.mark.parametrize(
    ("answers", "pointer"),
    [
        ([1, [0, 2], "paris"], "/answers"),
        ([7, [0, 2], "paris", "Fe"], "/answers/0"),
        (["4", [0, 2], "paris", "Fe"], "/answers/0"),
        ([1, 2, "paris", "Fe"], "/answers/1"),
        ([1, [0, 9], "paris", "Fe"], "/answers/1"),
        ([1, [0, 2], 3, "Fe"], "/answers/2"),
        ([True, [0, 2], "paris", "Fe"], "/answers/0"),
    ],
)
async def test_answers_of_the_wrong_shape_are_422(
    lyo_client: Any, answers: list[Any], pointer: str
) -> None:
    course = await quizzed_course(lyo_client)
    response = await submit(lyo_client, course["lessons"][1]["id"], answers)
    assert response.status_code == 422
    pointers = [e["pointer"] for e in (await response.get_json())["errors"]]
    # a value of no allowed type gets one error per type (/answers/0/int, ...)
    assert pointer in pointers or all(p.startswith(f"{pointer}/") for p in pointers), pointers
    assert await QuizAttempt.all().count() == 0  # a refused submission costs no attempt


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ({"kind": "single", "options": ["a", "b"]}, "/answer"),
        ({"kind": "single", "options": ["a", "b"], "answer": 2}, "/answer"),
        ({"kind": "multiple", "options": ["a", "b"], "answer": 0}, "/answer"),
        ({"kind": "multiple", "options": ["a", "b"]}, "/answers"),
        ({"kind": "multiple", "options": ["a", "b"], "answers": [1, 1]}, "/answers"),
        ({"kind": "text", "options": ["a", "b"], "accepted": ["a"]}, "/options"),
        ({"kind": "text"}, "/accepted"),
        ({"kind": "essay", "accepted": ["a"]}, "/kind"),
    ],
)
async def test_invalid_questions_are_422(
    lyo_client: Any, block: dict[str, Any], pointer: str
) -> None:
    quiz = [{"type": "quiz", "question": "?", **block}]
    response = await lyo_client.post(f"{API}/courses", json=body(quiz), headers=auth("instructor"))
    assert response.status_code == 422
    pointers = [e["pointer"] for e in (await response.get_json())["errors"]]
    assert f"/lessons/1/content/0/quiz{pointer}" in pointers, pointers


async def test_submitting_needs_an_enrollment_and_a_quiz(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client, enroll=None)
    quiz_lesson, plain = course["lessons"][1]["id"], course["lessons"][0]["id"]
    assert (await submit(lyo_client, quiz_lesson, RIGHT)).status_code == 409
    await lyo_client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    assert (await submit(lyo_client, plain, [])).status_code == 404
    anonymous = await lyo_client.post(f"{API}/lessons/{quiz_lesson}/quiz", json={"answers": []})
    assert anonymous.status_code == 401


# -- concurrency (real server; meant for PostgreSQL, see test_learning_progress) -----------


@pytest.fixture
async def server(lyo_settings: Settings, lyo_plugins: list[object]) -> Any:
    settings = lyo_settings.model_copy(update={"database_pool_size": 20})
    app = create_app(settings, lyo_plugins, discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def test_parallel_submissions_never_pass_the_maximum(server: httpx.AsyncClient) -> None:
    created = await server.post(f"{API}/courses", json=body(), headers=auth("instructor"))
    course = created.json()
    await server.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    lesson_id = course["lessons"][1]["id"]
    responses = await asyncio.gather(
        *(
            server.post(
                f"{API}/lessons/{lesson_id}/quiz",
                json={"answers": [None] * 4},
                headers=auth("learner"),
            )
            for _ in range(12)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 9
    assert sorted(r.json()["attempt"] for r in responses if r.status_code == 201) == [1, 2, 3]
    mine = await server.get(f"{API}/courses/{course['id']}/progress", headers=auth("learner"))
    assert mine.json()["lessons"][1]["attempts"] == 3


async def test_a_learner_reads_their_own_attempts_newest_first(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client)
    lesson_id = course["lessons"][1]["id"]
    url = f"{API}/lessons/{lesson_id}/quiz/attempts"
    empty = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert (empty["items"], empty["total"]) == ([], 0)
    await submit(lyo_client, lesson_id, [1, [0], "Lyon", "fe"])
    await submit(lyo_client, lesson_id, [1, [2, 0], "  PARIS! ", None])
    response = await lyo_client.get(url, headers=auth("learner"))
    assert response.status_code == 200
    page = await response.get_json()
    assert (page["total"], page["pages"]) == (2, 1)
    newest, first = page["items"]
    assert (newest["attempt"], newest["score"], newest["passed"]) == (2, 75, True)
    assert newest["answers"] == [1, [2, 0], "  PARIS! ", None]
    assert newest["results"] == [True, True, True, False]
    assert (newest["correct"], newest["questions"], newest["pass_mark"]) == (3, 4, 75)
    assert (first["attempt"], first["score"], first["quiz_version"]) == (1, 25, 1)
    assert newest["lesson_id"] == lesson_id and newest["course_id"] == course["id"]
    second = await (
        await lyo_client.get(f"{url}?size=1&page=2", headers=auth("learner"))
    ).get_json()
    assert [a["attempt"] for a in second["items"]] == [1]
    # the quiz changes: recorded attempts keep the version and pass mark they were graded on
    edited = await lyo_client.patch(
        f"{API}/lessons/{lesson_id}", json={"pass_mark": 50}, headers=auth("instructor")
    )
    assert edited.status_code == 200, await edited.get_data()
    again = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert [(a["quiz_version"], a["pass_mark"]) for a in again["items"]] == [(1, 75), (1, 75)]
    # nobody else's attempts: another learner sees none of these
    other = await (await lyo_client.get(url, headers=auth("other-learner"))).get_json()
    assert other["total"] == 0


async def test_attempts_of_an_unseen_or_unknown_lesson_are_a_404(lyo_client: Any) -> None:
    course = await quizzed_course(lyo_client, enroll=None)
    lesson_id = course["lessons"][1]["id"]
    draft = await lyo_client.patch(
        f"{API}/courses/{course['id']}", json={"status": "draft"}, headers=auth("instructor")
    )
    assert draft.status_code == 200, await draft.get_data()
    for url in (
        f"{API}/lessons/{lesson_id}/quiz/attempts",  # a draft the learner may not see
        f"{API}/lessons/00000000-0000-0000-0000-000000000000/quiz/attempts",
    ):
        response = await lyo_client.get(url, headers=auth("learner"))
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
    anonymous = await lyo_client.get(f"{API}/lessons/{lesson_id}/quiz/attempts")
    assert anonymous.status_code == 401
