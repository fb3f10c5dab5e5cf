"""Courses over HTTP: create, read, update, archive; who may do what; bad input."""

from __future__ import annotations

from typing import Any

import pytest
from learning_support import INSTRUCTOR, auth, course_body, lesson, published

API = "/api/learning"


async def create(client: Any, body: dict[str, Any], token: str = "instructor") -> Any:
    response = await client.post(f"{API}/courses", json=body, headers=auth(token))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()


async def test_create_then_read_with_lessons_in_order(lyo_client: Any) -> None:
    body = course_body("sql-101", lessons=3, tags=["SQL", "databases", "sql"], level="advanced")
    created = await create(lyo_client, body)
    assert created["author_id"] == INSTRUCTOR.id
    assert created["status"] == "draft" and created["published_at"] is None
    assert created["tags"] == ["sql", "databases"]
    assert [x["position"] for x in created["lessons"]] == [0, 1, 2]
    assert created["lesson_count"] == 3 and created["estimated_minutes"] == 15
    assert created["lessons"][0]["content"] == [
        {"type": "text", "text": "About sql-101 lesson 0.", "format": "markdown"}
    ]
    response = await lyo_client.get(f"{API}/courses/{created['id']}", headers=auth("instructor"))
    assert response.status_code == 200
    assert (await response.get_json())["lessons"] == created["lessons"]


async def test_slug_is_made_from_the_title_when_omitted(lyo_client: Any) -> None:
    first = await create(lyo_client, {"title": "Élan & Café: Basics!"})
    assert first["slug"] == "elan-cafe-basics"
    second = await create(lyo_client, {"title": "Élan & Café: Basics!"})
    assert second["slug"].startswith("elan-cafe-basics-") and second["slug"] != first["slug"]


async def test_duplicate_slug_is_409(lyo_client: Any) -> None:
    await create(lyo_client, course_body("dup"))
    response = await lyo_client.post(
        f"{API}/courses", json=course_body("dup"), headers=auth("instructor")
    )
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["field"] == "slug"


async def test_renaming_to_a_taken_slug_is_409(lyo_client: Any) -> None:
    await create(lyo_client, course_body("taken"))
    other = await create(lyo_client, course_body("free"))
    response = await lyo_client.patch(
        f"{API}/courses/{other['id']}", json={"slug": "taken"}, headers=auth("instructor")
    )
    assert response.status_code == 409
    assert (await response.get_json())["field"] == "slug"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": ""}, "/title"),
        ({"title": "   "}, "/title"),
        ({"title": "x" * 201}, "/title"),
        ({"title": "ok", "slug": "Not A Slug"}, "/slug"),
        ({"title": "ok", "level": "expert"}, "/level"),
        ({"title": "ok", "status": "archived"}, "/status"),
        ({"title": "ok", "tags": ["ok", "no spaces"]}, "/tags/1"),
        ({"title": "ok", "tags": [f"t{n}" for n in range(21)]}, "/tags"),
        ({"title": "ok", "metadata": {"blob": "x" * 70_000}}, "/metadata"),
        ({"title": "ok", "colour": "red"}, "/colour"),
        ({"title": "ok", "lessons": [{"title": ""}]}, "/lessons/0/title"),
        (
            {"title": "ok", "lessons": [{"title": "a", "estimated_minutes": -1}]},
            "/lessons/0/estimated_minutes",
        ),
        (
            {"title": "ok", "lessons": [{"title": "a", "content": [{"type": "gif"}]}]},
            "/lessons/0/content/0",
        ),
        (
            {"title": "ok", "lessons": [{"title": "a", "content": [{"type": "text"}]}]},
            "/lessons/0/content/0/text/text",
        ),
        (
            {
                "title": "ok",
                "lessons": [
                    {"title": "a", "content": [{"type": "image", "url": "javascript:alert(1)"}]}
                ],
            },
            "/lessons/0/content/0/image/url",
        ),
        (
            {
                "title": "ok",
                "lessons": [
                    {
                        "title": "a",
                        "content": [
                            {"type": "quiz", "question": "?", "options": ["a", "b"], "answer": 2}
                        ],
                    }
                ],
            },
            "/lessons/0/content/0/quiz/answer",
        ),
    ],
)
async def test_every_invalid_field_is_a_422_naming_it(
    lyo_client: Any, body: dict[str, Any], pointer: str
) -> None:
    response = await lyo_client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    assert response.status_code == 422, await response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    pointers = [e["pointer"] for e in (await response.get_json())["errors"]]
    assert pointer in pointers


async def test_several_invalid_fields_are_each_named(lyo_client: Any) -> None:
    body = {"title": "", "level": "expert", "slug": "UPPER"}
    response = await lyo_client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    pointers = {e["pointer"] for e in (await response.get_json())["errors"]}
    assert pointers == {"/title", "/level", "/slug"}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": None}, "/title"),
        ({"status": None}, "/status"),
        ({"status": "gone"}, "/status"),
        ({"tags": "python"}, "/tags"),
        ({"description": 5}, "/description"),
    ],
)
async def test_invalid_updates_are_422(lyo_client: Any, body: dict[str, Any], pointer: str) -> None:
    course = await create(lyo_client, course_body("upd"))
    response = await lyo_client.patch(
        f"{API}/courses/{course['id']}", json=body, headers=auth("instructor")
    )
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]


MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/courses/{MISSING}", None),
        ("PATCH", f"/courses/{MISSING}", {"title": "x"}),
        ("DELETE", f"/courses/{MISSING}", None),
        ("POST", f"/courses/{MISSING}/lessons", lesson("x")),
        ("POST", f"/courses/{MISSING}/lessons/order", {"lesson_ids": [MISSING]}),
        ("POST", f"/courses/{MISSING}/enroll", None),
        ("DELETE", f"/courses/{MISSING}/enroll", None),
        ("PATCH", f"/lessons/{MISSING}", {"title": "x"}),
        ("DELETE", f"/lessons/{MISSING}", None),
        ("PUT", f"/lessons/{MISSING}/progress", {"percent": 5}),
        ("GET", "/courses/not-a-uuid", None),
    ],
)
async def test_unknown_course_or_lesson_is_404(
    lyo_client: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    token = "learner" if "enroll" in path or "progress" in path else "admin"
    response = await lyo_client.open(f"{API}{path}", method=method, json=body, headers=auth(token))
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


async def test_writing_needs_sign_in_and_learning_write(lyo_client: Any) -> None:
    body = course_body("perm")
    assert (await lyo_client.post(f"{API}/courses", json=body)).status_code == 401
    response = await lyo_client.post(f"{API}/courses", json=body, headers=auth("learner"))
    assert response.status_code == 403


async def test_instructors_edit_only_their_own_courses_admins_all(lyo_client: Any) -> None:
    course = await create(lyo_client, course_body("mine", status="published"))
    url = f"{API}/courses/{course['id']}"
    for method, path, body in [
        ("PATCH", url, {"title": "Hijacked"}),
        ("DELETE", url, None),
        ("POST", f"{url}/lessons", lesson("extra")),
        ("POST", f"{url}/lessons/order", {"lesson_ids": [x["id"] for x in course["lessons"]]}),
        ("PATCH", f"{API}/lessons/{course['lessons'][0]['id']}", {"title": "Mine now"}),
        ("DELETE", f"{API}/lessons/{course['lessons'][0]['id']}", None),
    ]:
        response = await lyo_client.open(
            path, method=method, json=body, headers=auth("other-instructor")
        )
        assert response.status_code == 403, (method, path)
        assert response.content_type == "application/problem+json"
    response = await lyo_client.patch(url, json={"title": "Fixed by admin"}, headers=auth("admin"))
    assert response.status_code == 200
    assert (await response.get_json())["title"] == "Fixed by admin"
    assert (await lyo_client.get(url)).status_code == 200
    unchanged = await (await lyo_client.get(url)).get_json()
    assert [x["title"] for x in unchanged["lessons"]] == [x["title"] for x in course["lessons"]]


async def test_drafts_are_hidden_from_everyone_but_author_and_managers(lyo_client: Any) -> None:
    course = await create(lyo_client, course_body("secret"))
    url = f"{API}/courses/{course['id']}"
    assert (await lyo_client.get(url)).status_code == 404
    assert (await lyo_client.get(url, headers=auth("learner"))).status_code == 404
    assert (await lyo_client.get(url, headers=auth("other-instructor"))).status_code == 404
    assert (await lyo_client.get(url, headers=auth("instructor"))).status_code == 200
    assert (await lyo_client.get(url, headers=auth("admin"))).status_code == 200


async def test_publishing_emits_the_event_once_and_needs_lessons(lyo_client: Any) -> None:
    empty = await create(lyo_client, {"title": "Empty", "slug": "empty"})
    response = await lyo_client.patch(
        f"{API}/courses/{empty['id']}", json={"status": "published"}, headers=auth("instructor")
    )
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["pointer"] == "/status"

    course = await create(lyo_client, course_body("pub"))
    url = f"{API}/courses/{course['id']}"
    for _ in range(2):
        response = await lyo_client.patch(
            url, json={"status": "published"}, headers=auth("instructor")
        )
        assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "published" and body["published_at"] is not None
    events = published("learning.course_published.v1")
    assert events == [
        {
            "course_id": course["id"],
            "slug": "pub",
            "title": course["title"],
            "author_id": INSTRUCTOR.id,
            "published_at": events[0]["published_at"],
        }
    ]


async def test_archive_hides_from_catalog_but_keeps_the_course(lyo_client: Any) -> None:
    course = await create(lyo_client, course_body("old", status="published"))
    url = f"{API}/courses/{course['id']}"
    assert (await lyo_client.delete(url, headers=auth("instructor"))).status_code == 204
    assert (await lyo_client.delete(url, headers=auth("instructor"))).status_code == 204
    body = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert body["status"] == "archived"
    catalog = await (await lyo_client.get(f"{API}/courses")).get_json()
    assert catalog["total"] == 0


async def test_update_changes_only_given_fields_and_replaces_tags(lyo_client: Any) -> None:
    course = await create(lyo_client, course_body("part", tags=["a", "b"], description="keep"))
    response = await lyo_client.patch(
        f"{API}/courses/{course['id']}",
        json={"title": "New title", "tags": ["c"], "metadata": {"lang": "en"}},
        headers=auth("instructor"),
    )
    body = await response.get_json()
    assert body["title"] == "New title" and body["tags"] == ["c"]
    assert body["description"] == "keep" and body["metadata"] == {"lang": "en"}
    assert body["updated_at"] >= course["updated_at"]
