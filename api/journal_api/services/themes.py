"""Theme insights: recurring themes found by clustering a user's recent entry embeddings.

1. The `max_entries` most recently written analysed entries and their embeddings are
   read (bounded work: nothing older is touched).
2. `cluster` runs k-means (k-means++ seeding, a fixed seed, best of `N_INIT` runs) on
   the L2-normalised embeddings for k = 2 … `MAX_K` (at most one cluster per
   `MIN_CLUSTER` entries) and keeps the k with the best mean silhouette, with cosine
   distance; below `MIN_SILHOUETTE` no theme is claimed.
3. Each cluster is labelled with its most characteristic words, by c-TF-IDF of its texts
   against the other clusters' (`services/terms.py`), and shown with the entries nearest
   to its centroid.

numpy only, off the event loop. Clustering a year of entries takes most of a second,
so for the default `DEFAULT_ENTRIES` the worker computes the body a little after new
analyses land (`refresh`, the `themes.refresh` job) and stores it
(`models/theme_snapshot.py`); a read serves that snapshot, or computes and stores it when
there is none (a first read, or right after an entry was deleted or its text edited).
Any other size is computed per read. Either way the body is cached per user in Redis
(every write and stored analysis makes it stale). Called by `routes/insights.py` and
`services/jobs.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from journal_api import metrics as metrics_module
from journal_api.clients import cache as cache_module
from journal_api.clients import gate
from journal_api.repositories import analysed_entries
from journal_api.repositories import theme_snapshots as snapshots
from journal_api.schemas import themes as schemas
from journal_api.schemas import user as user_schema
from journal_api.services import terms, user_cache
from sqlalchemy.ext.asyncio import AsyncSession

Matrix = npt.NDArray[np.float64]
DEFAULT_ENTRIES = 300  # the size the worker keeps computed (`GET /insights/themes` default)
REFRESH_ATTEMPTS = 3
MIN_ENTRIES = 10
MAX_K = 8
MIN_CLUSTER = 4  # entries per cluster, on average, for a k to be tried
MIN_SILHOUETTE = 0.05
N_INIT, MAX_ITERATIONS, SEED = 4, 100, 0
LABEL_TERMS, SHOWN_TERMS, REPRESENTATIVES, EXCERPT = 3, 8, 3, 160


@dataclasses.dataclass(frozen=True)
class Clustering:
    labels: npt.NDArray[np.int64]
    centroids: Matrix  # L2-normalised
    silhouette: float


def normalised(vectors: Sequence[Sequence[float]] | Matrix) -> Matrix:
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def _squared_distances(x: Matrix, centroids: Matrix) -> Matrix:
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2: one matrix product instead of an N x k x 384 array.
    products: Matrix = x @ centroids.T
    squared: Matrix = (x * x).sum(axis=1)[:, None] - 2.0 * products
    squared += (centroids * centroids).sum(axis=1)
    return np.maximum(squared, 0.0, out=squared)


def _seeds(x: Matrix, k: int, rng: np.random.Generator) -> Matrix:
    # k-means++: each next seed drawn with probability proportional to its squared distance.
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        distance = _squared_distances(x, np.asarray(centroids)).min(axis=1)
        total = distance.sum()
        pick = rng.choice(len(x), p=distance / total) if total > 0 else rng.integers(len(x))
        centroids.append(x[pick])
    return np.asarray(centroids)


def kmeans(
    x: Matrix, k: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], Matrix, float]:
    """Lloyd's k-means from one k-means++ seeding: labels, centroids, inertia."""
    centroids = _seeds(x, k, rng)
    labels = np.zeros(len(x), dtype=np.int64)
    for iteration in range(MAX_ITERATIONS):
        distance = _squared_distances(x, centroids)
        new = distance.argmin(axis=1)
        if iteration > 0 and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = x[labels == c]
            # An emptied cluster restarts at the point farthest from its centroid.
            centroids[c] = (
                members.mean(axis=0) if len(members) else x[distance.min(axis=1).argmax()]
            )
    inertia = float(((x - centroids[labels]) ** 2).sum())
    return labels, centroids, inertia


def cosine_distances(x: Matrix) -> Matrix:
    """Pairwise cosine distances of L2-normalised rows."""
    return np.clip(1.0 - x @ x.T, 0.0, 2.0)


def silhouette(x: Matrix, labels: npt.NDArray[np.int64], distance: Matrix | None = None) -> float:
    """Mean silhouette with cosine distance (x is L2-normalised); singletons score 0.

    ``distance``: `cosine_distances(x)`, when the caller scores several labellings of x.
    """
    distance = cosine_distances(x) if distance is None else distance
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    means = np.stack([distance[:, labels == c].mean(axis=1) for c in clusters], axis=1)
    sizes = np.array([(labels == c).sum() for c in clusters])
    own = np.searchsorted(clusters, labels)
    n_own = sizes[own]
    a = np.where(n_own > 1, means[np.arange(len(x)), own] * n_own / np.maximum(n_own - 1, 1), 0.0)
    means[np.arange(len(x)), own] = np.inf
    b = means.min(axis=1)
    scores = np.where(n_own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(scores.mean())


def cluster(x: Matrix) -> Clustering | None:
    """The best k by silhouette, or None when there are too few entries to try any k."""
    best: Clustering | None = None
    distance = cosine_distances(x)
    for k in range(2, min(MAX_K, len(x) // MIN_CLUSTER) + 1):
        rng = np.random.default_rng(SEED)
        runs = [kmeans(x, k, rng) for _ in range(N_INIT)]
        labels, centroids, _ = min(runs, key=lambda run: run[2])
        score = silhouette(x, labels, distance)
        if best is None or score > best.silhouette:
            best = Clustering(labels, normalised(centroids), score)
    return best


def themes_of(
    entries: Sequence[analysed_entries.Embedded], clustering: Clustering, x: Matrix
) -> list[schemas.Theme]:
    """Each cluster labelled and shown with its representatives, largest first."""
    texts = analysed_entries.texts(entries)
    k = len(clustering.centroids)
    members = [np.flatnonzero(clustering.labels == c) for c in range(k)]
    weights = terms.class_tfidf([[w for i in m for w in terms.tokens(texts[i])] for m in members])
    themes = []
    for c in range(k):
        if not len(members[c]):
            continue
        similarity = x[members[c]] @ clustering.centroids[c]
        nearest = members[c][np.argsort(-similarity, kind="stable")[:REPRESENTATIVES]]
        shown = terms.top(weights[c], limit=SHOWN_TERMS)
        themes.append(
            schemas.Theme(
                label=", ".join(shown[:LABEL_TERMS]) or "untitled",
                terms=shown,
                entries=len(members[c]),
                share=round(len(members[c]) / len(entries), 4),
                representatives=[
                    schemas.Representative(
                        id=entries[i].id,
                        title=entries[i].title,
                        excerpt=entries[i].content[:EXCERPT],
                        entry_date=entries[i].entry_date,
                        similarity=round(float(x[i] @ clustering.centroids[c]), 4),
                    )
                    for i in nearest
                ],
            )
        )
    return sorted(themes, key=lambda t: -t.entries)


def find_themes(
    entries: Sequence[analysed_entries.Embedded], *, max_entries: int, computed_at: dt.datetime
) -> schemas.ThemesPublic:
    """The body for ``entries`` (the most recent first). CPU-bound: run it in a thread."""
    common = {
        "computed_at": computed_at,
        "entries": len(entries),
        "max_entries": max_entries,
        "min_entries": MIN_ENTRIES,
        "min_silhouette": MIN_SILHOUETTE,
    }
    if len(entries) < MIN_ENTRIES:
        return schemas.ThemesPublic(
            status="not_enough_data",
            message=f"{len(entries)} analysed entries; themes need at least {MIN_ENTRIES}",
            k=None, silhouette=None, themes=[], **common,
        )  # fmt: skip
    x = normalised([e.embedding for e in entries])
    clustering = cluster(x)
    if clustering is None or clustering.silhouette < MIN_SILHOUETTE:
        score = None if clustering is None else round(clustering.silhouette, 4)
        return schemas.ThemesPublic(
            status="no_clear_themes",
            message=f"no grouping of these entries is clear enough (best silhouette {score}, "
            f"needs {MIN_SILHOUETTE})",
            k=None, silhouette=score, themes=[], **common,
        )  # fmt: skip
    themes = themes_of(entries, clustering, x)
    return schemas.ThemesPublic(
        status="ok",
        message=f"{len(themes)} themes in your {len(entries)} most recent analysed entries",
        k=len(themes),
        silhouette=round(clustering.silhouette, 4),
        themes=themes,
        **common,
    )


class ThemesChangedError(Exception):
    """The user's entries kept changing while their themes were computed: try later."""


@dataclasses.dataclass(frozen=True)
class _Computed:
    body: bytes
    fingerprint: str
    computed_at: dt.datetime


async def _read(
    session: AsyncSession, *, user_id: uuid.UUID, max_entries: int
) -> tuple[str, list[analysed_entries.Embedded]]:
    # The fingerprint is read first: if an entry changes before the entries are read, the
    # stored fingerprint is the older one and the next refresh computes again.
    fingerprint = await analysed_entries.fingerprint(session, user_id=user_id, limit=max_entries)
    entries = await analysed_entries.most_recent(session, user_id=user_id, limit=max_entries)
    return fingerprint, entries


async def _cluster(
    read: tuple[str, list[analysed_entries.Embedded]], *, max_entries: int
) -> _Computed:
    fingerprint, entries = read
    computed_at = dt.datetime.now(dt.UTC)
    body = await asyncio.to_thread(
        find_themes, entries, max_entries=max_entries, computed_at=computed_at
    )
    return _Computed(body.model_dump_json().encode(), fingerprint, computed_at)


async def _store(session: AsyncSession, *, user_id: uuid.UUID, computed: _Computed) -> None:
    await snapshots.put(
        session,
        user_id=user_id,
        max_entries=DEFAULT_ENTRIES,
        body=computed.body,
        fingerprint=computed.fingerprint,
        computed_at=computed.computed_at,
    )


async def refresh(session: AsyncSession, *, user_id: uuid.UUID) -> bool:
    """Recompute the user's stored themes, unless the entries they cluster are unchanged;
    the caller commits. Whether a new snapshot was stored.

    Raises:
        ThemesChangedError: the entries changed during each of `REFRESH_ATTEMPTS` computations
            (a running refresh swallows the jobs queued meanwhile, so it must not store a
            body older than the entries).
    """
    stored = await snapshots.get(session, user_id=user_id)
    limit = DEFAULT_ENTRIES
    for _ in range(REFRESH_ATTEMPTS):
        read = await _read(session, user_id=user_id, max_entries=limit)
        if stored is not None and stored.fingerprint == read[0]:
            return False
        computed = await _cluster(read, max_entries=limit)
        # Stored first, checked after: the row stays locked until the caller commits, so
        # a deletion either committed before the check (seen: computed again) or clears
        # the row after this commits.
        await _store(session, user_id=user_id, computed=computed)
        # Held to the commit, which also completes this job: an analysis that found this
        # refresh running (so queued none) has committed before the check below.
        await snapshots.lock_for_refresh(session, user_id=user_id)
        if computed.fingerprint == await analysed_entries.fingerprint(
            session, user_id=user_id, limit=limit
        ):
            return True
    raise ThemesChangedError(f"entries changed during each of {REFRESH_ATTEMPTS} clusterings")


async def theme_insights(
    sessions: Callable[[], AsyncSession],
    cache: cache_module.Cache,
    metrics: metrics_module.Metrics,
    *,
    user: user_schema.AuthUser,
    max_entries: int,
    ttl: int,
    resource: str,
    prefetch: gate.Prefetch | None,
) -> bytes:
    """The JSON body of the user's themes: from the cache when fresh, else the stored
    snapshot (default size), else computed now (and stored, for the default size).

    Args:
        sessions: opens a session, only on a cache miss.
        cache: the shared Redis client.
        metrics: cache hits and misses.
        user: whose entries.
        max_entries: how many of the most recent analysed entries to cluster.
        ttl: seconds a computed body stays cached.
        resource: the request's raw path and query (the cache key).
        prefetch: the middleware's admission read, if any (`clients/gate.py`).
    """
    cached = await user_cache.lookup(
        cache, metrics, user_id=user.id, resource=resource, prefetch=prefetch
    )
    if cached.body is not None:
        return cached.body
    stored = max_entries == DEFAULT_ENTRIES
    async with sessions() as session:
        snapshot = await snapshots.get(session, user_id=user.id) if stored else None
        if snapshot is not None and snapshot.max_entries == max_entries:
            await user_cache.store(cache, cached, body=snapshot.body, ttl=ttl)
            return snapshot.body
        read = await _read(session, user_id=user.id, max_entries=max_entries)
    # Clustered with no connection held: it takes most of a second for a year of entries.
    computed = await _cluster(read, max_entries=max_entries)
    if stored:
        async with sessions() as session:
            await _store(session, user_id=user.id, computed=computed)
            # Kept, as in `refresh`, only when no entry changed meanwhile: a deletion
            # committed during the clustering must not see its excerpt stored again.
            if computed.fingerprint == await analysed_entries.fingerprint(
                session, user_id=user.id, limit=max_entries
            ):
                await session.commit()
    await user_cache.store(cache, cached, body=computed.body, ttl=ttl)
    return computed.body
