"""Uploaded files served by the kernel in development and test: ``GET <LYO_MEDIA_URL>/<name>``
from the local storage, so an avatar's URL works with nothing else running.

Staging and production do not mount this route: there a reverse proxy serves
``LYO_MEDIA_ROOT`` at the media URL, or a :class:`kernel.Storage` that hands out its own
URLs (an object store) takes the local one's place (README, "Operations").

Only regular files inside the storage's root are served: a name with ``..``, a hidden
part (the storage's ``.upload-*`` temporary files), a backslash or a NUL is missing, and
so is anything a symlink takes outside the root. Types come from the extension (the
storage names files after their sniffed type); images are shown inline, anything else
is a download (``Content-Disposition: attachment``), and ``nosniff`` keeps browsers from
guessing otherwise. ``Range`` and conditional requests are answered (``206``, ``304``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath

from quart import Blueprint, Response, current_app, request, send_file
from quart_schema import hide
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import parse_range_header

from kernel.data.uploads import LocalStorage
from kernel.errors import NotFound

#: Types shown inline: raster images only (SVG can carry script).
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})


def media_blueprint(base_url: str) -> Blueprint:
    """The route serving the kernel's :class:`LocalStorage` under ``base_url`` (a path)."""
    blueprint = Blueprint("kernel_media", __name__)

    @blueprint.get(f"{base_url.rstrip('/')}/<path:name>")
    @hide
    async def media(name: str) -> Response:
        storage = current_app.extensions["lyo"].storage
        if not isinstance(storage, LocalStorage):  # a plugin put an object store in place
            raise _missing()
        path = local_file(storage, name)
        _check_range(path.stat().st_size)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = await send_file(
            path,
            mimetype=content_type,
            as_attachment=content_type not in INLINE,
            attachment_filename=path.name,
            conditional=True,
        )
        response.headers["Accept-Ranges"] = "bytes"
        return response  # X-Content-Type-Options: nosniff comes with every answer

    return blueprint


def local_file(storage: LocalStorage, name: str) -> Path:
    """The regular file stored as ``name``, inside the storage's root; 404 otherwise."""
    parts = PurePosixPath(name).parts
    if "\\" in name or "\x00" in name or any(part.startswith(".") for part in parts):
        raise _missing()
    try:
        path = storage.path(name).resolve(strict=True)
    except (ValueError, OSError):
        raise _missing() from None
    if not path.is_relative_to(storage.root) or not path.is_file():
        raise _missing()
    return path


def _check_range(size: int) -> None:
    """416 for a range the file cannot satisfy, and a suffix or open range (``-500``,
    ``100-``) rewritten as the absolute one it means: Quart fails on both with a 500.
    One range at a time, as Quart serves them."""
    header = request.headers.get("Range")
    if not header:
        return
    wanted = parse_range_header(header)  # not request.range: it keeps its first parse
    bounds = wanted.range_for_length(size) if wanted and wanted.units == "bytes" else None
    if wanted is None or len(wanted.ranges) != 1 or bounds is None:
        raise RequestedRangeNotSatisfiable(length=size)
    request.headers["Range"] = f"bytes={bounds[0]}-{bounds[1] - 1}"


def _missing() -> NotFound:
    return NotFound("No such file.")
