"""The exact vector index and the discovery routes over stored vectors, without a model
(vectors written here): nearest first, the object itself excluded, a change seen by the
per-process matrix, unknown objects 404, recommendations excluding what was taken."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import numpy as np
from conftest import auth, enrolled, feed, publish
from lyo_feeds.models import Embedding
from lyo_feeds.vectors import changed, to_bytes


async def _put(kind: str, object_id: str, title: str, vector: list[float]) -> None:
    v = np.asarray(vector, dtype=np.float32)
    await Embedding.update_or_create(
        defaults={
            "title": title,
            "text": title,
            "model": "all-MiniLM-L6-v2",
            "vector": to_bytes(v / np.linalg.norm(v)),
        },
        kind=kind,
        object_id=object_id,
    )
    await changed(kind)


async def test_similar_is_nearest_first_and_sees_changes(lyo_client: Any, lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    await _put("course", "a", "A", [1, 0, 0])
    await _put("course", "b", "B", [0.9, 0.1, 0])
    await _put("course", "c", "C", [0, 1, 0])
    response = await lyo_client.get("/api/feeds/similar/course/a", headers=auth("ada"))
    assert response.status_code == 200, await response.get_data()
    items = (await response.get_json())["items"]
    assert [i["id"] for i in items] == ["b", "c"] and items[0]["title"] == "B"
    await _put("course", "d", "D", [1, 0.01, 0])  # a closer one arrives: seen at once
    items = (
        await (await lyo_client.get("/api/feeds/similar/course/a", headers=auth("ada"))).get_json()
    )["items"]
    assert [i["id"] for i in items][:2] == ["d", "b"]
    for path in ("/api/feeds/similar/course/zzz", "/api/feeds/similar/pet/a"):
        assert (await lyo_client.get(path, headers=auth("ada"))).status_code == 404


async def test_discover_excludes_what_was_taken(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    lyo_app.kernel.activate()
    taken, near, far = uuid4(), uuid4(), uuid4()
    await _put("course", str(taken), "Python basics", [1, 0, 0])
    await _put("course", str(near), "Flask APIs", [0.8, 0.2, 0])
    await _put("course", str(far), "Guitar", [0, 0, 1])
    await publish(lyo_app, enrolled("ada", taken))
    await feed(lyo_client, "/users/ada", "ada", want=1)
    response = await lyo_client.get("/api/feeds/discover", headers=auth("ada"))
    items = (await response.get_json())["items"]
    assert items[0]["id"] == str(near)
    assert str(taken) not in {i["id"] for i in items}
    assert items[0]["reason"] == "similar to Python basics"
    bad = await lyo_client.get("/api/feeds/discover?size=0", headers=auth("ada"))
    assert bad.status_code == 422


async def test_search_without_an_embedder_is_a_503_saying_what_to_install(
    lyo_client: Any,
) -> None:
    response = await lyo_client.get("/api/feeds/search?q=python", headers=auth("ada"))
    assert response.status_code == 503
    problem = await response.get_json()
    assert "lyo-feeds[model]" in problem["detail"] and response.headers["Retry-After"]
    assert (await lyo_client.get("/api/feeds/search?q=", headers=auth("ada"))).status_code == 422


async def test_two_subjects_taken_recommend_both_with_their_reasons(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    """Each candidate scores its best similarity to one of the taken courses (one matrix
    product for all of them), and the reason names that course."""
    lyo_app.kernel.activate()
    ids = {name: uuid4() for name in ("python", "guitar", "flask", "chords", "baking")}
    for name, vector in (
        ("python", [1, 0, 0]),
        ("guitar", [0, 0, 1]),
        ("flask", [0.9, 0.2, 0]),
        ("chords", [0.1, 0.1, 0.9]),
        ("baking", [0, 1, 0]),
    ):
        await _put("course", str(ids[name]), name, vector)
    await publish(lyo_app, enrolled("ada", ids["python"]), enrolled("ada", ids["guitar"]))
    await feed(lyo_client, "/users/ada", "ada", want=2)
    response = await lyo_client.get("/api/feeds/discover", headers=auth("ada"))
    items = [(i["title"], i["reason"]) for i in (await response.get_json())["items"]]
    assert sorted(items[:2]) == [("chords", "similar to guitar"), ("flask", "similar to python")]
    assert items[2][0] == "baking" and len(items) == 3
