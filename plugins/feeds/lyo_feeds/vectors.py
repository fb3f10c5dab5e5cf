"""Vector search behind a small interface. The shipped backend is exact: the normalized
vectors of one kind in a numpy matrix, cached per process and reloaded when the kind's
version token (:mod:`.caching`, replaced on every write; a lost one is replaced too,
so a flushed cache reloads rather than trusts an old matrix) changes; a query is one
matrix product. A pgvector or ANN backend implements :class:`VectorIndex` the same way
(``vector_of``, ``nearest`` and ``nearest_any``) and replaces :data:`index`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .caching import renew, token
from .models import Embedding
from .settings import plugin


class VectorIndex(Protocol):
    async def vector_of(self, kind: str, object_id: str) -> np.ndarray | None: ...

    async def nearest(
        self, kind: str, vector: np.ndarray, k: int, exclude: frozenset[str] = frozenset()
    ) -> list[tuple[str, float]]:
        """The ``k`` objects of ``kind`` closest to ``vector`` (cosine), best first."""
        ...

    async def nearest_any(
        self, kind: str, vectors: np.ndarray, k: int, exclude: frozenset[str] = frozenset()
    ) -> list[tuple[str, float, int]]:
        """The ``k`` objects of ``kind`` closest to any row of ``vectors``, best first:
        (id, its best cosine, the row it is closest to)."""
        ...


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.float32)


async def changed(kind: str) -> None:
    """Tell every process's matrix of ``kind`` to reload (call after writing vectors)."""
    await renew(f"vectors:{kind}")


async def version(kind: str) -> str:
    """The current token of ``kind``'s vectors (caches keyed on it expire with them); a
    new one each time while Redis is down, so every process reloads."""
    return await token(f"vectors:{kind}") or uuid.uuid4().hex


@dataclass
class _Matrix:
    version: str = ""
    ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


class ExactIndex:
    def __init__(self) -> None:
        self._kinds: dict[str, _Matrix] = {}

    async def _matrix(self, kind: str) -> _Matrix:
        current = await version(kind)
        held = self._kinds.get(kind)
        if held is not None and held.version == current:
            return held
        rows = await Embedding.filter(kind=kind, model=plugin.settings.model_version).values_list(
            "object_id", "vector"
        )
        ids = [str(r[0]) for r in rows]
        vectors = [from_bytes(bytes(r[1])) for r in rows]
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        held = _Matrix(current, ids, {i: n for n, i in enumerate(ids)}, matrix)
        self._kinds[kind] = held
        return held

    async def vector_of(self, kind: str, object_id: str) -> np.ndarray | None:
        held = await self._matrix(kind)
        row = held.rows.get(object_id)
        return None if row is None else held.matrix[row]

    async def nearest(
        self, kind: str, vector: np.ndarray, k: int, exclude: frozenset[str] = frozenset()
    ) -> list[tuple[str, float]]:
        found = await self.nearest_any(kind, np.asarray(vector)[None, :], k, exclude)
        return [(i, score) for i, score, _row in found]

    async def nearest_any(
        self, kind: str, vectors: np.ndarray, k: int, exclude: frozenset[str] = frozenset()
    ) -> list[tuple[str, float, int]]:
        held = await self._matrix(kind)
        if not held.ids or not len(vectors):
            return []
        # one pass over the matrix for all the rows of ``vectors``
        all_scores = held.matrix @ np.asarray(vectors, dtype=np.float32).T
        rows, scores = all_scores.argmax(axis=1), all_scores.max(axis=1)
        # the best k + |exclude| found in linear time, then only those sorted
        top = min(len(scores), k + len(exclude))
        best = np.argpartition(-scores, top - 1)[:top]
        found = []
        for n in best[np.argsort(-scores[best])]:
            if held.ids[n] in exclude:
                continue
            found.append((held.ids[n], float(scores[n]), int(rows[n])))
            if len(found) == k:
                break
        return found


#: The process's index (replace with another :class:`VectorIndex` implementation).
index: VectorIndex = ExactIndex()
