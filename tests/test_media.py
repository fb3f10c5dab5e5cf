"""Uploads served by the kernel in development and test (``GET /media/<name>``): types,
``nosniff``, downloads for what is not an image, ranges, and nothing outside the media
root, however the path is spelled (``..``, encoded, through a symlink)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kernel import Settings, create_app
from kernel.testing import serve

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
PDF = b"%PDF-1.7\n" + b"x" * 100


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "avatars").mkdir(parents=True)
    (root / "avatars" / "a.png").write_bytes(PNG)
    (root / "doc.pdf").write_bytes(PDF)
    (root / ".upload-x.part").write_bytes(b"half")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(root / "doc.pdf", root / "inside.pdf")
    return root


@pytest_asyncio.fixture
async def http(lyo_settings: Settings, media: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A real server: the path a client sends goes through Hypercorn's decoding."""
    settings = lyo_settings.model_copy(update={"media_root": str(media)})
    app = create_app(settings, [], discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_images_inline_with_their_type(http: httpx.AsyncClient) -> None:
    response = await http.get("/media/avatars/a.png")
    assert response.status_code == 200 and response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in response.headers


async def test_other_files_are_downloads(http: httpx.AsyncClient) -> None:
    response = await http.get("/media/doc.pdf")
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    inside = await http.get("/media/inside.pdf")  # a symlink that stays inside the root
    assert inside.status_code == 200


async def test_range_requests(http: httpx.AsyncClient) -> None:
    response = await http.get("/media/doc.pdf", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == b"%PDF"
    assert response.headers["content-range"] == f"bytes 0-3/{len(PDF)}"
    tail = await http.get("/media/doc.pdf", headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == PDF[-4:]
    rest = await http.get("/media/doc.pdf", headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.content == PDF[100:]
    outside = await http.get("/media/doc.pdf", headers={"Range": "bytes=5000-6000"})
    assert outside.status_code == 416
    assert outside.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/media/%2e%2e/secret.txt",
        "/media/%2E%2E/secret.txt",
        "/media/avatars/%2e%2e/%2e%2e/secret.txt",
        "/media/..%2fsecret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/avatars/..%5c..%5csecret.txt",
        "/media/%252e%252e/secret.txt",
        "/media/link.txt",
        "/media/.upload-x.part",
        "/media/avatars",
        "/media/missing.png",
        "/media/a%00.png",
    ],
)
async def test_nothing_outside_the_media_root(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code in (404, 422), (path, response.status_code)
    assert b"TOP-SECRET" not in response.content


async def test_dot_segments_through_the_test_client(lyo_settings: Settings, media: Path) -> None:
    """Quart's test client sends the path as given, ``..`` and all."""
    settings = lyo_settings.model_copy(update={"media_root": str(media)})
    app = create_app(settings, [], discover=False)
    async with app.test_app():
        client: Any = app.test_client()
        for path in ("/media/../secret.txt", "/media/avatars/../../secret.txt"):
            response = await client.get(path)
            assert response.status_code == 404
            assert b"TOP-SECRET" not in await response.get_data()
        assert (await client.get("/media/avatars/../doc.pdf")).status_code in (200, 404)


def test_not_served_in_production_like_environments() -> None:
    app = create_app(
        Settings(
            env="staging",
            database_url="postgres://postgres@127.0.0.1:5432/unused",
            redis_url="redis://127.0.0.1:6379/0",
            secret_key="x" * 40,
        ),
        [],
        discover=False,
    )
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith("/media")]
