"""Full-text search over a user's entries, with typo tolerance from pg_trgm.

How a query runs (one statement):
1. The query is split into words with the `simple` configuration; words the entry
   language drops (stop words) are ignored.
2. Each word is ORed with up to `MAX_CORRECTIONS` words from the user's own vocabulary
   (`search_terms`) that are trigram-similar to it (GIN trigram index), so "jurnal"
   also looks for "journal". The words are then ANDed.
3. Entries matching that query (GIN index on `search_vector`) are ranked by
   `ts_rank_cd` on the exact query plus a smaller share of the rank on the corrected
   query, so an exact match beats a typo-corrected one; the title (weight A) counts
   more than the content (weight B).
4. Only the top `limit` rows get a `ts_headline` snippet, which re-parses the text; the
   snippet is HTML-escaped and only its match markers become `<mark>` (`as_html`).

The vocabulary grows synchronously: entry writes call `remember_words` in their
transaction. It shrinks in the background: an entry edit or delete queues a
`search_terms.refresh` job (at most one live per user: its dedupe key), and the worker
calls `prune_words`, which drops the words no remaining entry of that user contains. A
per-user advisory lock orders the two: writers hold it shared until they commit, the prune
holds it exclusively, so a prune never deletes a word that an entry committing at the same
moment still uses.
Called by `services/entries.py`, `services/jobs.py` and `routes/search.py`.
"""

from __future__ import annotations

import dataclasses
import html
import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from journal_api.models import entry as entry_model

MAX_CORRECTIONS = 3
# Trigram similarity a vocabulary word needs to count as a correction of a query word.
MIN_SIMILARITY = 0.4
# A corrected match counts for this share of an exact one.
CORRECTED_WEIGHT = 0.5
# Words outside these lengths are not worth remembering (ids, pasted hashes, "a").
MIN_WORD_CHARS, MAX_WORD_CHARS = 2, 40
# ts_headline copies the entry's text as it is: its markers are control characters the
# text is stripped of first, and `as_html` escapes the rest before they become <mark>s.
START_MARK, STOP_MARK = "\x01", "\x02"
HEADLINE_OPTIONS = (
    f"StartSel={START_MARK}, StopSel={STOP_MARK}, MaxFragments=2, MaxWords=20, MinWords=8, "
    "FragmentDelimiter= … "
)

_REMEMBER_SQL = text(
    """
    INSERT INTO search_terms (user_id, word)
    SELECT :user_id, word
    FROM unnest(tsvector_to_array(to_tsvector('simple', :body))) AS word
    WHERE length(word) BETWEEN :min_chars AND :max_chars
    ORDER BY word  -- one lock order for every writer: concurrent inserts cannot deadlock
    ON CONFLICT DO NOTHING
    """
)

# Two-key advisory locks live apart from the one-key space `migrating.py` uses.
_VOCABULARY_LOCK_CLASS = 727_102
_SHARED_LOCK_SQL = text("SELECT pg_advisory_xact_lock_shared(:lock_class, hashtext(:user_key))")
_EXCLUSIVE_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:user_key))")

# The words of every remaining entry, split exactly as `_REMEMBER_SQL` splits them.
_PRUNE_SQL = text(
    """
    DELETE FROM search_terms AS t
    WHERE t.user_id = :user_id
      AND NOT EXISTS (
          SELECT 1
          FROM entries AS e,
               unnest(tsvector_to_array(to_tsvector(
                   'simple', coalesce(e.title, '') || ' ' || e.content))) AS word
          WHERE e.user_id = :user_id AND word = t.word
      )
    """
)

_SEARCH_SQL = text(
    """
    WITH words AS (
        SELECT DISTINCT word
        FROM unnest(tsvector_to_array(to_tsvector('simple', :q))) AS word
        WHERE numnode(plainto_tsquery(CAST(:language AS regconfig), word)) > 0
    ),
    alternatives AS (
        SELECT w.word, journal_tsquery_or(
                   plainto_tsquery(CAST(:language AS regconfig), alt.word)) AS tsq
        FROM words AS w
        CROSS JOIN LATERAL (
            SELECT w.word
            UNION ALL
            (SELECT t.word FROM search_terms AS t
             WHERE t.user_id = :user_id AND t.word % w.word AND t.word <> w.word
               AND similarity(t.word, w.word) >= :min_similarity
             ORDER BY similarity(t.word, w.word) DESC, t.word
             LIMIT :max_corrections)
        ) AS alt
        GROUP BY w.word
    ),
    query AS (
        SELECT journal_tsquery_and(a.tsq) AS corrected,
               plainto_tsquery(CAST(:language AS regconfig), :q) AS exact
        FROM alternatives AS a
    ),
    ranked AS (
        SELECT e.id,
               ts_rank_cd(e.search_vector, q.exact, 32)
                 + :corrected_weight * ts_rank_cd(e.search_vector, q.corrected, 32) AS score,
               q.corrected
        FROM entries AS e, query AS q
        WHERE e.user_id = :user_id AND e.search_vector @@ q.corrected
        ORDER BY score DESC, e.entry_date DESC, e.id
        LIMIT :limit
    )
    SELECT r.id, r.score,
           ts_headline(e.language,
                       translate(coalesce(e.title || ' — ', '') || e.content, :marks, '  '),
                       r.corrected, :headline_options) AS highlight
    FROM ranked AS r JOIN entries AS e ON e.id = r.id
    ORDER BY r.score DESC, e.entry_date DESC, e.id
    """
)


@dataclasses.dataclass(frozen=True)
class Hit:
    entry: entry_model.Entry
    score: float
    highlight: str


async def hold_vocabulary(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Take the user's vocabulary lock shared until the caller's transaction ends.

    A writer that changes the user's words takes it before queueing the refresh job: a
    `prune_words` running then either waits for this write to commit (and sees it), or
    has already committed with its job's removal, so the enqueue is not swallowed by the
    dedupe key of a job that can no longer see this write.
    """
    await session.execute(
        _SHARED_LOCK_SQL, {"lock_class": _VOCABULARY_LOCK_CLASS, "user_key": str(user_id)}
    )


async def remember_words(session: AsyncSession, *, user_id: uuid.UUID, body: str) -> None:
    """Add the words of ``body`` to the user's search vocabulary (typo corrections)."""
    # Held until commit: a concurrent `prune_words` waits for this entry to be visible.
    await hold_vocabulary(session, user_id=user_id)
    await session.execute(
        _REMEMBER_SQL,
        {
            "user_id": user_id,
            "body": body,
            "min_chars": MIN_WORD_CHARS,
            "max_chars": MAX_WORD_CHARS,
        },
    )


async def prune_words(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    """Drop the user's vocabulary words that none of their entries contains any more.

    Returns:
        How many words were removed.
    """
    await session.execute(
        _EXCLUSIVE_LOCK_SQL, {"lock_class": _VOCABULARY_LOCK_CLASS, "user_key": str(user_id)}
    )
    # READ COMMITTED: this statement's snapshot is taken after the lock is granted, so it
    # sees every entry whose writer held the shared lock.
    result = await session.execute(_PRUNE_SQL, {"user_id": user_id})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def fulltext(
    session: AsyncSession, *, user_id: uuid.UUID, query: str, language: str, limit: int
) -> list[Hit]:
    """The user's entries best matching ``query``, most relevant first.

    Args:
        session: the request's session.
        user_id: whose entries.
        query: the words to look for; an entry must contain all of them (or a correction).
        language: a text-search configuration name, e.g. ``english``.
        limit: at most this many hits.
    """
    rows = (
        await session.execute(
            _SEARCH_SQL,
            {
                "user_id": user_id,
                "q": query,
                "language": language,
                "limit": limit,
                "min_similarity": MIN_SIMILARITY,
                "max_corrections": MAX_CORRECTIONS,
                "corrected_weight": CORRECTED_WEIGHT,
                "headline_options": HEADLINE_OPTIONS,
                "marks": START_MARK + STOP_MARK,
            },
        )
    ).all()
    if not rows:
        return []
    entries = await session.execute(
        select(entry_model.Entry).where(
            entry_model.Entry.id.in_([row.id for row in rows]),
            entry_model.Entry.user_id == user_id,
        )
    )
    by_id = {entry.id: entry for entry in entries.scalars()}
    return [
        Hit(by_id[row.id], float(row.score), as_html(row.highlight))
        for row in rows
        if row.id in by_id
    ]


def as_html(headline: str) -> str:
    """A headline safe to render as HTML: the entry's text escaped (`<img …>` shows as
    text), and only the match markers turned into `<mark>…</mark>`."""
    escaped = html.escape(headline, quote=True)
    return escaped.replace(START_MARK, "<mark>").replace(STOP_MARK, "</mark>")
