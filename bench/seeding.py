"""Bench data: synthetic journal text and fast bulk loading with COPY.

Words follow a Zipf distribution over a fixed pseudo-word vocabulary, so a query for a
word of rank r matches a predictable share of entries (rank 100 ≈ 6 %, rank 500 ≈
1.3 %, rank 2000 ≈ 0.3 % at 60 words per entry). Everything is seeded from a fixed
random seed, so runs are comparable.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import asyncpg

VOCABULARY_SIZE = 6000
WORDS_PER_ENTRY = 60
SEED = 20261127
COLUMNS = (
    "id",
    "user_id",
    "title",
    "content",
    "tags",
    "mood",
    "entry_date",
    "is_favorite",
    "word_count",
    "created_at",
    "updated_at",
)
TAGS = ("work", "home", "family", "travel", "health", "ideas", "reading", "sport")
_ONSETS = ("b", "br", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "v")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "n", "r", "l", "s", "m", "th")


def vocabulary(rng: random.Random) -> list[str]:
    """`VOCABULARY_SIZE` distinct pronounceable words, most frequent first."""
    words: dict[str, None] = {}
    while len(words) < VOCABULARY_SIZE:
        syllables = rng.randint(2, 4)
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        words.setdefault(word, None)
    return list(words)


class TextMaker:
    """Zipf-distributed titles and bodies over one vocabulary."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.cumulative = list(
            itertools.accumulate(1 / rank for rank in range(1, len(self.words) + 1))
        )

    def sample(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)

    def entry(self) -> tuple[str, str]:
        return " ".join(self.sample(3)).capitalize(), " ".join(self.sample(WORDS_PER_ENTRY))


def _rows(
    maker: TextMaker,
    *,
    user_id: uuid.UUID,
    moments: Iterator[dt.datetime],
    zone: zoneinfo.ZoneInfo,
) -> Iterator[tuple[Any, ...]]:
    rng = maker.rng
    for moment in moments:
        title, content = maker.entry()
        yield (
            uuid.uuid4(),
            user_id,
            title,
            content,
            rng.sample(TAGS, rng.randint(0, 2)),
            rng.choice((-2, -1, 0, 1, 2, None)),
            moment.astimezone(zone).date(),
            rng.random() < 0.1,
            WORDS_PER_ENTRY,
            moment,
            moment,
        )


async def copy_entries(
    connection: asyncpg.Connection,
    maker: TextMaker,
    *,
    user_id: uuid.UUID,
    moments: list[dt.datetime],
    timezone: str = "UTC",
    batch: int = 10_000,
    progress: Any = None,
) -> list[uuid.UUID]:
    """COPY one entry per instant in ``moments`` for ``user_id``; returns the ids."""
    zone = zoneinfo.ZoneInfo(timezone)
    ids: list[uuid.UUID] = []
    rows = _rows(maker, user_id=user_id, moments=iter(moments), zone=zone)
    while chunk := list(itertools.islice(rows, batch)):
        await connection.copy_records_to_table("entries", records=chunk, columns=COLUMNS)
        ids.extend(row[0] for row in chunk)
        if progress is not None:
            progress(len(ids), len(moments))
    await connection.execute(
        "INSERT INTO search_terms (user_id, word) SELECT $1, unnest($2::text[]) "
        "ON CONFLICT DO NOTHING",
        user_id,
        maker.words,
    )
    return ids


def spread(
    *, count: int, start: dt.datetime, end: dt.datetime, rng: random.Random
) -> list[dt.datetime]:
    """``count`` random instants between start and end, oldest first."""
    span = (end - start).total_seconds()
    return sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(count))


def daily(*, days: int, now: dt.datetime, timezone: str, hour: int = 21) -> list[dt.datetime]:
    """One instant per local day for the last ``days`` days, at ``hour`` local time."""
    zone = zoneinfo.ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    return [
        dt.datetime.combine(today - dt.timedelta(days=n), dt.time(hour), zone)
        for n in range(days - 1, -1, -1)
    ]
