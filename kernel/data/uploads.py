"""Uploads: stream a file to storage with a size limit and a type sniffed from its content.

``await save_upload((await request.files)["file"], storage=storage, allowed=IMAGES,
max_bytes=5 * 1024 * 1024)`` checks, in this order, and leaves nothing behind when a
check fails:

1. the file is not empty, else 422 (:class:`ValidationFailed`, pointer ``/<field>``);
2. the client's file name, when there is one, ends in an allowed extension, else 415;
3. the type sniffed from the first bytes (magic numbers: PNG, JPEG, GIF, WebP, AVIF,
   PDF) is allowed, and the file name's extension is one allowed for that type, else
   415 (:class:`UnsupportedMediaType`); the client's ``Content-Type`` is never trusted;
4. the content is at most ``max_bytes``, else 413 (:class:`PayloadTooLarge`), raised as
   soon as the limit is passed, with the partial file removed.

The stored name is generated (``<prefix><uuid4 hex><canonical extension>``), never taken
from the client. :class:`LocalStorage` writes under a directory; anything with the
:class:`Storage` methods (an S3 multipart upload, say) can take its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol, cast

from werkzeug.datastructures import FileStorage

from kernel.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

CHUNK_SIZE = 64 * 1024
SNIFF_SIZE = 16  # bytes every signature below needs

# (MIME type, canonical extension, test on the first SNIFF_SIZE bytes)
SIGNATURES: list[tuple[str, str, re.Pattern[bytes]]] = [
    ("image/png", ".png", re.compile(rb"\A\x89PNG\r\n\x1a\n")),
    ("image/jpeg", ".jpg", re.compile(rb"\A\xff\xd8\xff")),
    ("image/gif", ".gif", re.compile(rb"\AGIF8[79]a")),
    ("image/webp", ".webp", re.compile(rb"\ARIFF.{4}WEBP", re.DOTALL)),
    ("image/avif", ".avif", re.compile(rb"\A.{4}ftypavi[fs]", re.DOTALL)),
    ("application/pdf", ".pdf", re.compile(rb"\A%PDF-")),
]
EXTENSIONS = {mime: extension for mime, extension, _ in SIGNATURES}

AllowedTypes = Mapping[str, Collection[str]]
"""MIME type → the file-name extensions accepted for it (lower case, with the dot)."""

IMAGES: AllowedTypes = {
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/webp": {".webp"},
    "image/gif": {".gif"},
}

_SAFE_PREFIX = re.compile(r"\A(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]*\Z")


def sniff(head: bytes) -> str | None:
    """The MIME type that ``head`` (the first bytes of a file) starts like, if known."""
    for mime, _, signature in SIGNATURES:
        if signature.match(head):
            return mime
    return None


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    content_type: str
    sha256: str
    url: str


class Storage(Protocol):
    """Where uploads go. ``save`` must leave nothing under ``name`` when ``chunks``
    raises (the kernel raises there to stop an oversized upload) or it is cancelled."""

    async def save(
        self, name: str, chunks: AsyncIterator[bytes], *, content_type: str | None = None
    ) -> int:
        """Write ``chunks`` under ``name``, all or nothing; returns the bytes written."""
        ...

    async def delete(self, name: str) -> None: ...

    def url(self, name: str) -> str: ...


class LocalStorage:
    """Files under ``root``, served (by someone else) under ``base_url``.

    Each upload is written to a temporary file in its target directory and renamed
    into place once complete, so readers never see half a file.
    """

    def __init__(self, root: Path | str, base_url: str = "/media") -> None:
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/")

    def path(self, name: str) -> Path:
        relative = PurePosixPath(name)
        if relative.is_absolute() or not relative.parts or ".." in relative.parts:
            raise ValueError(f"unsafe storage name {name!r}")
        return self.root.joinpath(*relative.parts)

    async def save(
        self, name: str, chunks: AsyncIterator[bytes], *, content_type: str | None = None
    ) -> int:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
                    size += len(chunk)
                await asyncio.to_thread(_flush, out.fileno())
            os.chmod(temporary, 0o644)  # mkstemp makes it 0600; a web server must read it
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return size

    async def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"


def _flush(fd: int) -> None:
    os.fsync(fd)


async def save_upload(
    file: FileStorage | AsyncIterable[bytes] | bytes,
    *,
    storage: Storage,
    allowed: AllowedTypes,
    max_bytes: int,
    prefix: str = "",
    filename: str | None = None,
    field: str = "file",
) -> StoredFile:
    """Check and store an upload; see the module docstring for the checks and errors.

    ``file`` is a form file (``(await request.files)["file"]``, whose ``filename`` is
    checked), a request body (``request.body``) or any async iterable of bytes, or bytes.
    ``filename`` overrides the name checked for the extension; ``field`` names the form
    field in a 422's pointer. ``prefix`` (``"avatars/"``) is prepended to the stored name.
    """
    if not _SAFE_PREFIX.match(prefix):
        raise ValueError(f"unsafe prefix {prefix!r}: letters, digits, _, - and / only")
    if filename is None and isinstance(file, FileStorage):
        filename = file.filename or None
    chunks = _chunks(file)
    head = b""
    try:
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_SIZE:
                break
        if not head:
            raise ValidationFailed.field(field, "The file is empty.")
        content_type = _check_type(head, filename, allowed)
    except BaseException:
        await chunks.aclose()
        raise

    digest = hashlib.sha256()

    async def limited() -> AsyncIterator[bytes]:
        size = len(head)
        if size > max_bytes:
            raise _too_large(max_bytes)
        digest.update(head)
        yield head
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            digest.update(chunk)
            yield chunk

    name = f"{prefix}{uuid.uuid4().hex}{EXTENSIONS[content_type]}"
    try:
        size = await storage.save(name, limited(), content_type=content_type)
    finally:
        await chunks.aclose()
    return StoredFile(name, size, content_type, digest.hexdigest(), storage.url(name))


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the limit of {max_bytes} bytes.", max_bytes=max_bytes
    )


async def _chunks(file: FileStorage | AsyncIterable[bytes] | bytes) -> AsyncGenerator[bytes]:
    if isinstance(file, bytes):
        for start in range(0, len(file), CHUNK_SIZE):
            yield file[start : start + CHUNK_SIZE]
    elif isinstance(file, FileStorage):
        # Quart has already spooled the form (memory, or a temporary file past 500 KiB)
        # and reads it synchronously itself, as here.
        while chunk := file.stream.read(CHUNK_SIZE):
            yield chunk
    else:
        async for chunk in cast("AsyncIterable[bytes]", file):
            if chunk:
                yield chunk


def _check_type(head: bytes, filename: str | None, allowed: AllowedTypes) -> str:
    accepted = sorted(allowed)
    extensions = sorted({ext.lower() for exts in allowed.values() for ext in exts})
    extension = PurePosixPath(filename).suffix.lower() if filename else None
    if filename is not None and extension not in extensions:
        shown = f"'{extension}'" if extension else "no extension"
        raise UnsupportedMediaType(
            f"Files with {shown} are not accepted; use one of {', '.join(extensions)}.",
            accepted=accepted,
        )
    content_type = sniff(head)
    if content_type is None or content_type not in allowed:
        found = f"is {content_type}" if content_type else "is of an unknown type"
        raise UnsupportedMediaType(
            f"The content {found}; accepted: {', '.join(accepted)}.", accepted=accepted
        )
    if extension is not None and extension not in {e.lower() for e in allowed[content_type]}:
        raise UnsupportedMediaType(
            f"The file name ends in '{extension}' but the content is {content_type}.",
            accepted=accepted,
        )
    return content_type
