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


# Journal-like English for the analysis bench, which needs texts a real encoder can place
# by meaning (the Zipf pseudo-words above are for full-text search): a few sentence
# shapes over everyday feelings, topics, activities, people, times and places.
_FEELINGS = (
    "anxious", "calm", "grateful", "frustrated", "lonely", "hopeful", "exhausted", "proud",
    "sad", "excited", "nervous", "relieved", "angry", "content", "overwhelmed", "restless",
    "peaceful", "guilty", "happy", "bored", "irritated", "optimistic", "worried", "inspired",
    "disappointed",
)  # fmt: skip
_TOPICS = (
    "work", "my manager", "the project deadline", "money", "the rent", "my sister",
    "my partner", "my mother", "my dad", "my best friend", "the kids", "the dog", "my health",
    "my sleep", "the gym", "running", "cooking", "the garden", "the weather", "school",
    "the exams", "my thesis", "the move", "the new apartment", "a job interview",
    "the doctor's appointment", "my back pain", "the holidays", "the trip to the coast",
    "the book I'm reading", "piano practice", "the neighbours", "the car", "the commute",
    "a difficult conversation", "therapy", "meditation", "my birthday", "the wedding",
    "grandma's funeral",
)  # fmt: skip
_ACTIVITIES = (
    "went for a long walk", "cooked dinner", "cleaned the whole flat", "worked late",
    "went running", "read for an hour", "watched an old film", "played guitar",
    "took a long nap", "went swimming", "finished the report", "baked bread",
    "did the grocery shopping", "did some yoga", "fixed the bike", "studied for hours",
    "wrote a letter", "planted tomatoes", "painted the hallway", "sorted out the paperwork",
)  # fmt: skip
_PEOPLE = (
    "with my sister", "with friends", "alone", "with my partner", "with colleagues",
    "with my mother", "with the kids", "with an old friend",
)  # fmt: skip
_TIMES = (
    "this morning", "tonight", "all day", "after lunch", "at the weekend", "yesterday",
    "before work", "late at night",
)  # fmt: skip
_PLACES = (
    "by the river", "in the park", "at the office", "at home", "downtown", "at the café",
    "on the train", "at the beach",
)  # fmt: skip
_SENTENCES = (
    "{time_cap} I felt {feeling} about {topic}.",
    "I {activity} {people} {place}.",
    "I keep thinking about {topic} and I feel {feeling}.",
    "{activity_cap} {time}, which left me {feeling}.",
    "Not sure why, but {topic} has me {feeling} again.",
    "Spent {time} on {topic}; honestly I'm {feeling}.",
    "I want to remember how {feeling} I was {time}.",
    "Talked {people} about {topic} {place}.",
    "Tomorrow I have to deal with {topic} and I'm {feeling} about it.",
    "Slept badly and woke up {feeling}.",
    "Small win: I {activity} {time}.",
    "Grateful for {topic} today.",
    "It rained {time} so I stayed {place}.",
    "My mind keeps going back to {topic}.",
    "Everything about {topic} feels {feeling} lately.",
)
_QUERIES = (
    "{feeling} about {topic}",
    "feeling {feeling} {time}",
    "{activity} {people}",
    "{topic} {place}",
    "why am I {feeling} about {topic} {time}",
    "times I {activity} {place}",
)


def _slots(rng: random.Random) -> dict[str, str]:
    activity, time = rng.choice(_ACTIVITIES), rng.choice(_TIMES)
    return {
        "feeling": rng.choice(_FEELINGS),
        "topic": rng.choice(_TOPICS),
        "activity": activity,
        "activity_cap": activity.capitalize(),
        "people": rng.choice(_PEOPLE),
        "time": time,
        "time_cap": time.capitalize(),
        "place": rng.choice(_PLACES),
    }


def journal_texts(count: int, *, seed: int = SEED) -> list[tuple[str, str]]:
    """``count`` distinct (title, content) journal entries of 4-7 sentences (~50 words)."""
    rng = random.Random(seed)
    found: dict[tuple[str, str], None] = {}
    while len(found) < count:
        sentences = [rng.choice(_SENTENCES).format(**_slots(rng)) for _ in range(rng.randint(4, 7))]
        title = rng.choice(_TOPICS).capitalize()
        found.setdefault((title, " ".join(sentences)), None)
    return list(found)


def journal_queries(count: int, *, seed: int = SEED + 1) -> list[str]:
    """``count`` distinct short search queries in the vocabulary of `journal_texts`
    (about 9,800 can be made)."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        found.setdefault(rng.choice(_QUERIES).format(**_slots(rng)), None)
    return list(found)
