"""Uploads: size limit, allowlist, sniffed types, generated names, nothing left on failure."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart import Blueprint, request
from quart.datastructures import FileStorage

from kernel import Settings, create_app
from kernel.data.uploads import IMAGES, LocalStorage, StoredFile, save_upload, sniff
from kernel.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from kernel.testing import make_plugin


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size, every pixel black."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# JPEG: start of image, a JFIF APP0 segment, end of image.
JPEG = b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
JPEG += b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def leftovers(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


async def test_a_png_is_stored_under_a_generated_name(storage: LocalStorage) -> None:
    data = png()
    stored = await save_upload(
        FileStorage(io.BytesIO(data), filename="../../etc/passwd.png", content_type="text/html"),
        storage=storage,
        allowed=IMAGES,
        max_bytes=1024,
    )
    assert re.fullmatch(r"[0-9a-f]{32}\.png", stored.name)
    assert stored.content_type == "image/png"  # sniffed, not the client's text/html
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.url == f"/media/{stored.name}"
    assert (storage.root / stored.name).read_bytes() == data
    assert leftovers(storage.root) == [storage.root / stored.name]


async def test_jpeg_gets_the_canonical_extension_and_a_prefix(storage: LocalStorage) -> None:
    stored = await save_upload(
        JPEG, storage=storage, allowed=IMAGES, max_bytes=1024, filename="Me.JPEG", prefix="a/b/"
    )
    assert re.fullmatch(r"a/b/[0-9a-f]{32}\.jpg", stored.name)
    assert (storage.root / stored.name).read_bytes() == JPEG
    await storage.delete(stored.name)
    assert leftovers(storage.root) == []


async def test_a_streamed_body_without_a_file_name_is_judged_by_content(
    storage: LocalStorage,
) -> None:
    async def body() -> AsyncIterator[bytes]:
        data = png(64, 64)
        for start in range(0, len(data), 7):  # chunks smaller than the sniffing window
            yield data[start : start + 7]

    stored = await save_upload(body(), storage=storage, allowed=IMAGES, max_bytes=100_000)
    assert stored.content_type == "image/png"
    assert (storage.root / stored.name).read_bytes() == png(64, 64)


async def test_an_empty_file_is_422_pointing_at_the_field(storage: LocalStorage) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await save_upload(b"", storage=storage, allowed=IMAGES, max_bytes=10, field="avatar")
    assert caught.value.status == 422
    assert caught.value.extra["errors"][0]["pointer"] == "/avatar"
    assert leftovers(storage.root) == []


async def test_oversized_is_413_and_reading_stops_at_the_limit(storage: LocalStorage) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield png()
        while True:
            pulled += 1
            yield b"\x00" * 1024

    with pytest.raises(PayloadTooLarge) as caught:
        await save_upload(endless(), storage=storage, allowed=IMAGES, max_bytes=4096)
    assert caught.value.status == 413
    assert pulled <= 5
    assert leftovers(storage.root) == []


@pytest.mark.parametrize(
    ("content", "filename", "allowed", "detail"),
    [
        (png(), "tool.exe", IMAGES, "'.exe' are not accepted"),
        (png(), "noextension", IMAGES, "no extension"),
        (GIF, "anim.gif", {"image/png": {".png"}, "image/gif": {".png"}}, "'.gif' are not"),
        (GIF, "anim.png", {"image/png": {".png"}}, "content is image/gif"),
        (b"<html><script>", "page.png", IMAGES, "unknown type"),
        (JPEG, "photo.png", IMAGES, "ends in '.png' but the content is image/jpeg"),
    ],
)
async def test_disallowed_or_mismatched_types_are_415(
    storage: LocalStorage, content: bytes, filename: str, allowed: Any, detail: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        await save_upload(
            content, storage=storage, allowed=allowed, max_bytes=1024, filename=filename
        )
    assert caught.value.status == 415
    assert detail in caught.value.detail
    assert leftovers(storage.root) == []


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (png(), "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00", "image/avif"),
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"hello", None),
    ],
)
def test_sniff(head: bytes, mime: str | None) -> None:
    assert sniff(head[:16]) == mime


async def test_unsafe_names_are_refused(storage: LocalStorage) -> None:
    with pytest.raises(ValueError):
        await save_upload(png(), storage=storage, allowed=IMAGES, max_bytes=1024, prefix="../")
    for name in ("../x.png", "/etc/x.png", ""):
        with pytest.raises(ValueError):
            storage.path(name)


# -- through a real Quart route -----------------------------------------------------------


def files_plugin(storage: LocalStorage) -> object:
    bp = Blueprint("files", __name__)

    @bp.post("/avatar")
    async def avatar() -> tuple[dict[str, Any], int]:
        files = await request.files
        if "file" not in files:
            raise ValidationFailed.field("file", "A file is required.")
        stored = await save_upload(files["file"], storage=storage, allowed=IMAGES, max_bytes=2048)
        return dataclasses.asdict(stored), 201

    return make_plugin("files", blueprints=lambda kernel: [bp])


async def post_file(storage: LocalStorage, data: bytes, filename: str) -> tuple[int, str, Any]:
    app = create_app(
        Settings(env="test", access_log=False), [files_plugin(storage)], discover=False
    )
    async with app.test_app():
        upload = FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")
        response = await app.test_client().post("/api/files/avatar", files={"file": upload})
        return response.status_code, response.content_type, await response.get_json()


async def test_route_stores_an_avatar(storage: LocalStorage) -> None:
    status, _, body = await post_file(storage, png(), "me.png")
    assert status == 201
    stored = StoredFile(**body)
    assert stored.content_type == "image/png" and stored.size == len(png())
    assert (storage.root / stored.name).read_bytes() == png()


@pytest.mark.parametrize(
    ("data", "filename", "status"),
    [
        (png(64, 64) + b"\x00" * 4096, "big.png", 413),
        (JPEG, "me.png", 415),
        (png(), "me.svg", 415),
        (b"", "me.png", 422),
    ],
)
async def test_route_answers_problems_and_leaves_nothing(
    storage: LocalStorage, data: bytes, filename: str, status: int
) -> None:
    got, content_type, body = await post_file(storage, data, filename)
    assert got == status
    assert content_type == "application/problem+json"
    assert body["status"] == status and body["request_id"]
    if status == 422:
        assert body["errors"][0]["pointer"] == "/file"
    assert leftovers(storage.root) == []
