"""Vector arithmetic shared by the matching and the safety screen, and the per-process cache
of embedded knowledge texts.

Vectors are plain float sequences (384 of them, L2-normalised by the model server, so a dot
product is the cosine): the few products a suggestion request needs do not justify numpy; the
crisis screen, which compares every sentence with every exemplar, uses matrix products
(`services/safety.margins`). `VectorCache` keeps the embeddings of the shipped texts
(techniques, crisis exemplars) in memory, once per process, keyed by the data's version and
the embedding model, so a new knowledge-base version or a new model is embedded afresh and an
old one is never mixed in.
"""

from __future__ import annotations

import asyncio
import math
import operator
from collections.abc import Awaitable, Callable, Sequence

Vector = Sequence[float]
# Texts in, one L2-normalised vector per text out (in order). The production embedder is the
# model server's `embedding` model; tests and the evaluation command pass their own.
Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


def dot(a: Vector, b: Vector) -> float:
    """The dot product: the cosine similarity for unit vectors."""
    return math.fsum(map(operator.mul, a, b))


def normalised(v: Vector) -> list[float]:
    """``v`` scaled to unit length (a zero vector stays zero)."""
    norm = math.sqrt(math.fsum(x * x for x in v))
    return [x / norm for x in v] if norm else list(v)


def centroid(vectors: Sequence[Vector]) -> list[float]:
    """The unit-length mean direction of ``vectors`` (all of one dimension, at least one)."""
    n = len(vectors)
    return normalised([math.fsum(column) / n for column in zip(*vectors, strict=True)])


class VectorCache:
    """Embeddings of fixed texts, computed once per (name, version, model) in this process.

    Concurrent first requests share one embedding call (a lock per key), so a cold process
    does not embed the knowledge base once per request.
    """

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str, str], list[list[float]]] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    async def get(
        self,
        *,
        name: str,
        version: str,
        model: str,
        texts: Sequence[str],
        embed: Embed,
        batch: int = 64,  # the model server's texts-per-request limit
    ) -> list[list[float]]:
        """The vectors of ``texts``, embedding them on the first call for this key.

        Args:
            name: which text set ("techniques", "crisis-exemplars", …).
            version: the data file's version; a new version is a new key.
            model: identifies the embedding model (its version or the server URL).
            texts: the texts, in the order the vectors come back.
            embed: called only on a miss, with at most ``batch`` texts at a time.
        """
        key = (name, version, model)
        if (hit := self._vectors.get(key)) is not None:
            return hit
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if (hit := self._vectors.get(key)) is not None:
                return hit
            vectors: list[list[float]] = []
            for start in range(0, len(texts), batch):
                vectors.extend(await embed(texts[start : start + batch]))
            self._vectors[key] = vectors
            return vectors
