"""Words that characterise a group of texts: tokens, c-TF-IDF, and over-represented items.

- `tokens`: lower-case words of three letters or more, without English stop words
  (a journal's "really", "today" and "feel" say nothing about a theme).
- `class_tfidf`: c-TF-IDF (the class-based TF-IDF of BERTopic): a term's frequency in
  one class's texts joined together, times log(1 + A / f), where A is the average word
  count per class and f the term's frequency over all classes. A term is
  characteristic of a class when it is frequent there and rare elsewhere.
- `over_represented`: items (tags, topics, terms) present in a larger share of one group
  of entries than of another, by smoothed log ratio of document frequencies.

Pure; called by `services/themes.py` (labels) and `services/shifts.py` (explanations).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[a-z][a-z']*[a-z]")
MIN_LENGTH = 3
STOP_WORDS = frozenset(
    """
    about above after again against all also although always am among an and another any
    anyone anything are around as at away back be became because been before being below
    between both but by came can cannot could did didn does doesn doing done don down
    during each either else even ever every everything few for from further get gets
    getting got had has have having he her here hers herself him himself his how however i
    if in into is isn it its itself just know last least less let like made make makes many
    may me might more most much must my myself need never new next no nor not nothing now
    of off often on once one only or other others our ours ourselves out over own quite
    rather really said same say see seem seemed she should since so some something still
    such than that the their theirs them themselves then there these they thing things
    think this those though through to today too under until up upon us very want was wasn
    way we well went were weren what when where whether which while who whom whose why will
    with within without won would yes yet you your yours yourself day days feel felt
    feeling time week going kind lot bit maybe pretty im ive dont didnt cant wont its thats
    theres
    """.split()  # noqa: SIM905 - a word list reads better as words
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` worth counting, in order (possessive 's dropped)."""
    words = (w.removesuffix("'s").replace("'", "") for w in _WORD.findall(text.lower()))
    return [w for w in words if len(w) >= MIN_LENGTH and w not in STOP_WORDS]


def class_tfidf(classes: Sequence[Iterable[str]]) -> list[dict[str, float]]:
    """The c-TF-IDF weight of every term of each class (a class: the tokens of its texts)."""
    counts = [Counter(words) for words in classes]
    overall: Counter[str] = Counter()
    for count in counts:
        overall.update(count)
    sizes = [sum(count.values()) for count in counts]
    average = sum(sizes) / len(sizes) if sizes else 0.0
    return [
        {term: (n / size) * math.log(1.0 + average / overall[term]) for term, n in count.items()}
        if size
        else {}
        for count, size in zip(counts, sizes, strict=True)
    ]


def top(weights: dict[str, float], *, limit: int) -> list[str]:
    """The ``limit`` heaviest terms, ties broken alphabetically."""
    return [term for term, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


@dataclasses.dataclass(frozen=True)
class Item:
    """An item more common in one group than in another, with both shares (0..1)."""

    name: str
    share: float  # of the group's entries that carry it
    other_share: float


def over_represented(
    group: Sequence[Iterable[str]],
    other: Sequence[Iterable[str]],
    *,
    min_count: int = 2,
    min_ratio: float = 1.5,
    limit: int = 5,
) -> list[Item]:
    """Items (one set per entry) carried by at least ``min_count`` entries of ``group``
    and by a share at least ``min_ratio`` times larger than in ``other`` (add-half
    smoothing), strongest first.
    """
    if not group:
        return []
    inside = Counter(item for items in group for item in set(items))
    outside = Counter(item for items in other for item in set(items))
    n_in, n_out = len(group), len(other)
    scored = []
    for name, count in inside.items():
        if count < min_count:
            continue
        ratio = ((count + 0.5) / (n_in + 1)) / ((outside[name] + 0.5) / (n_out + 1))
        if ratio >= min_ratio:
            scored.append((math.log(ratio) * math.sqrt(count), name, count))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [
        Item(name, round(count / n_in, 3), round(outside[name] / n_out, 3) if n_out else 0.0)
        for _, name, count in scored[:limit]
    ]
