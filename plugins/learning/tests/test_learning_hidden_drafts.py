"""Someone else's draft is answered as if it did not exist: no slug conflict, and the same
404 as a missing course for unenrolling and for recording progress."""

from __future__ import annotations

import uuid
from typing import Any

from learning_support import auth, course_body

API = "/api/learning"


async def draft(client: Any, slug: str = "secret-plan") -> dict[str, Any]:
    response = await client.post(
        f"{API}/courses", json=course_body(slug), headers=auth("instructor")
    )
    assert response.status_code == 201
    return await response.get_json()  # type: ignore[no-any-return]


async def test_another_authors_draft_slug_is_no_conflict(lyo_client: Any) -> None:
    hidden = await draft(lyo_client)
    mine = await lyo_client.post(
        f"{API}/courses", json=course_body("secret-plan"), headers=auth("other-instructor")
    )
    assert mine.status_code == 201  # the slug is unique per author
    assert (await mine.get_json())["slug"] == "secret-plan"
    other = await lyo_client.post(
        f"{API}/courses", json=course_body("other"), headers=auth("other-instructor")
    )
    renamed = await lyo_client.patch(
        f"{API}/courses/{(await other.get_json())['id']}",
        json={"slug": "secret-plan"},
        headers=auth("other-instructor"),
    )
    assert renamed.status_code == 409  # their own course holds it now, not the hidden draft
    assert "You already have" in (await renamed.get_json())["detail"]
    assert hidden["slug"] == "secret-plan"
    # an author's own duplicate still conflicts
    again = await lyo_client.post(
        f"{API}/courses", json=course_body("secret-plan"), headers=auth("instructor")
    )
    assert again.status_code == 409


async def strip(response: Any) -> tuple[int, str]:
    body = await response.get_json()
    return response.status_code, body["detail"].split(" ")[0]


async def test_unenrolling_from_a_draft_is_answered_as_a_missing_course(lyo_client: Any) -> None:
    hidden = await draft(lyo_client)
    on_draft = await lyo_client.delete(
        f"{API}/courses/{hidden['id']}/enroll", headers=auth("learner")
    )
    on_missing = await lyo_client.delete(
        f"{API}/courses/{uuid.uuid4()}/enroll", headers=auth("learner")
    )
    assert on_draft.status_code == on_missing.status_code == 404
    assert await strip(on_draft) == await strip(on_missing)


async def test_progress_on_a_draft_lesson_is_answered_as_a_missing_lesson(
    lyo_client: Any,
) -> None:
    hidden = await draft(lyo_client)
    lesson_id = hidden["lessons"][0]["id"]
    body = {"percent": 50, "seconds_spent": 10}
    on_draft = await lyo_client.put(
        f"{API}/lessons/{lesson_id}/progress", json=body, headers=auth("learner")
    )
    on_missing = await lyo_client.put(
        f"{API}/lessons/{uuid.uuid4()}/progress", json=body, headers=auth("learner")
    )
    assert on_draft.status_code == on_missing.status_code == 404
    assert await strip(on_draft) == await strip(on_missing)
