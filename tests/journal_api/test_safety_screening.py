"""The crisis screen (`services/safety.py`) on fixed examples:

- phrase rules: explicit statements match, whatever the apostrophe; idioms and everyday
  uses of "kill", "die" and "dead" do not, and neither does "suicide prevention";
- with the real model server: true positives are flagged, including ones no rule knows
  (by similarity to the exemplars), and the hard negatives the issue names are not;
- a long text is flagged by any one of its sentences;
- the audit payload of a flag carries ids, scores and versions, never the text;
- the shipped crisis language is valid and its exemplars, contrast sentences and
  labelled sentences never overlap.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from journal_api.clients import breaker, inference
from journal_api.knowledge import crisis
from journal_api.services import safety

from tests.support.inference import InferenceServer

EXPLICIT = [
    "I want to kill myself.",
    "I\u2019ve been thinking about suicide every day.",
    "Everyone would be better off without me.",
    "I don't want to be alive anymore.",
    "I've started cutting again.",
]
# Flagged by meaning only: no phrase rule matches these.
SEMANTIC_ONLY = [
    "I have been researching painless ways to die.",
    "I don't want to exist in this world any longer.",
    "Everything would be simpler if I just wasn't alive.",
]
INDIRECT = [
    "I don't see the point in going on anymore.",
    "My family would have an easier life if I wasn't around.",
    "Some nights I lie awake wishing I could just stop existing.",
]
HARD_NEGATIVES = [
    "This deadline is killing me.",
    "I could murder a pizza right now.",
    "I'm dying to see that film.",
    "My phone battery died in the middle of the call.",
    "I nearly died laughing at his joke.",
    "Stayin' Alive came on and everyone danced.",
    "My grandmother passed away last spring and I still miss her every day.",
]
NOT_BY_RULES = [*HARD_NEGATIVES, "I volunteered at a suicide prevention walk on Saturday."]


def test_shipped_crisis_language_is_valid() -> None:
    language = crisis.language()
    assert 30 <= len(language.exemplars) <= 65
    assert len(language.contrast) >= 30
    assert len(language.rules) >= 10
    assert language.threshold > 0


def test_labelled_sentences_never_appear_among_exemplars_or_contrast() -> None:
    language = crisis.language()
    shipped = {s.text for s in (*language.exemplars, *language.contrast)}
    assert not shipped & {s.text for s in crisis.evaluation_set().sentences}


@pytest.mark.parametrize("text", EXPLICIT)
def test_explicit_statements_match_a_rule(text: str) -> None:
    assert safety.rule_ids(text, crisis.language())


@pytest.mark.parametrize("text", NOT_BY_RULES)
def test_idioms_match_no_rule(text: str) -> None:
    assert safety.rule_ids(text, crisis.language()) == ()


def test_rules_need_a_word_boundary() -> None:
    bad = {"id": "x", "pattern": "kill myself", "meaning": "no boundary"}
    with pytest.raises(ValueError, match="word boundary"):
        crisis.Rule.model_validate(bad)


def test_sentences_split_on_ends_and_lines() -> None:
    text = "A good day.  Then this!\nAnd that?\n\n...\nlast"
    assert safety.sentences(text) == ["A good day.", "Then this!", "And that?", "last"]


def test_a_sentence_is_clipped_to_what_the_server_accepts() -> None:
    [sentence] = safety.sentences("word " * 10_000)
    assert len(sentence) == safety.MAX_SENTENCE_CHARS


@pytest.fixture(scope="module")
async def embed_client(
    inference_server: InferenceServer,
) -> AsyncIterator[inference.InferenceClient]:
    client = inference.InferenceClient(
        inference_server.url,
        timeout=60,
        retries=1,
        retry_base_seconds=0.1,
        breaker=breaker.CircuitBreaker(failures=5, reset_seconds=1, max_reset_seconds=5),
    )
    yield client
    await client.aclose()


async def screen(client: inference.InferenceClient, texts: list[str]) -> list[safety.Screening]:
    return await safety.screen_texts(texts, embed=client.embed, model=client.base_url)


async def test_true_positives_are_flagged(embed_client: inference.InferenceClient) -> None:
    texts = EXPLICIT + INDIRECT + SEMANTIC_ONLY
    flags = [s.flagged for s in await screen(embed_client, texts)]
    assert all(flags), [t for t, f in zip(texts, flags, strict=True) if not f]


async def test_sentences_no_rule_knows_are_flagged_by_similarity(
    embed_client: inference.InferenceClient,
) -> None:
    for text, s in zip(SEMANTIC_ONLY, await screen(embed_client, SEMANTIC_ONLY), strict=True):
        assert s.rule_ids == (), text
        assert s.by_similarity, (text, s.margin)
        assert s.exemplar_id is not None
        assert s.exemplar_id.startswith("exemplar-")


async def test_hard_negatives_are_not_flagged(embed_client: inference.InferenceClient) -> None:
    screenings = await screen(embed_client, HARD_NEGATIVES)
    flagged = [(t, s.margin) for t, s in zip(HARD_NEGATIVES, screenings, strict=True) if s.flagged]
    assert flagged == []


async def test_one_sentence_flags_a_long_entry(embed_client: inference.InferenceClient) -> None:
    entry = (
        "Went to the market this morning and bought apples. The weather was grey. "
        "Honestly everything would be simpler if I just wasn't alive. "
        "Then I watched a film and went to bed."
    )
    [screening] = await screen(embed_client, [entry])
    assert screening.flagged
    assert screening.sentences == 4


async def test_audit_details_hold_no_text(embed_client: inference.InferenceClient) -> None:
    text = "I want to kill myself. Everything would be simpler if I just wasn't alive."
    [screening] = await screen(embed_client, [text])
    entry_id = uuid.uuid4()
    details = safety.audit_details(screening, entry_id=entry_id, model_version="1.0.0")
    payload = json.dumps(details).lower()
    for word in ("kill", "myself", "simpler", "alive"):
        assert word not in payload
    assert details["entry_id"] == str(entry_id)
    assert details["detectors"] == ["rules", "similarity"]
    assert details["rule_ids"]
    assert details["language_version"] == crisis.language().version
    assert set(details) == {
        "entry_id", "detectors", "rule_ids", "margin", "threshold", "nearest_exemplar_id",
        "sentences", "language_version", "model_version",
    }  # fmt: skip
