"""The knowledge base of reflection and coping techniques (`knowledge/techniques.json`):

- the shipped file validates, is versioned, and has at least 40 techniques, each with a
  description, when it helps (GoEmotions/Ekman/sentiment vocabulary and situations), 3-6
  steps, an evidence level with a justification, and a citation (authors, year, title, venue);
- ids are unique, and a document breaking the schema is refused with the field that broke;
- what a user reads (titles, descriptions, steps, justifications, situations) names no
  clinical condition;
- the file is read once per process, on first use.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic
import pytest
from journal_api.knowledge import techniques

# Words that would turn a suggestion into a diagnosis or a clinical label.
CLINICAL = re.compile(
    r"disorder|depress|diagnos|ptsd|bipolar|\bocd\b|adhd|insomnia|psychiatr|illness|"
    r"symptom|patient|clinical|patholog|anorexi|bulimi|schizo|psychos",
    re.IGNORECASE,
)
# Techniques the issue names; each must be in the knowledge base.
REQUIRED = {
    "cognitive-reframing",
    "behavioural-activation",
    "grounding-5-4-3-2-1",
    "paced-breathing",
    "progressive-muscle-relaxation",
    "self-compassion-break",
    "sleep-hygiene",
    "values-clarification",
    "gratitude-journaling",
    "worry-postponement",
    "problem-solving",
    "behavioural-experiment",
    "opposite-action",
    "radical-acceptance",
    "savouring",
    "reach-out",
    "physical-activity",
    "mindful-breathing",
    "expressive-writing",
    "implementation-intentions",
    "activity-scheduling",
}


def shipped() -> dict[str, Any]:
    document: dict[str, Any] = techniques.catalog().model_dump(mode="json")
    return document


def test_knowledge_base_has_at_least_40_valid_techniques() -> None:
    catalog = techniques.catalog()
    assert catalog.version
    assert len(catalog.techniques) >= 40
    for technique in catalog.techniques:
        assert 3 <= len(technique.steps) <= 6, technique.id
        assert technique.evidence.level in {"strong", "moderate", "emerging"}
        assert technique.helps_with.emotions
        assert technique.helps_with.ekman


def test_every_technique_cites_published_work() -> None:
    for technique in techniques.catalog().techniques:
        citation = technique.citation
        assert all((citation.authors, citation.title, citation.venue)), technique.id
        assert 1900 < citation.year <= 2026, technique.id
        assert str(citation.year) in citation.text()


def test_the_techniques_the_issue_names_are_present() -> None:
    ids = {t.id for t in techniques.catalog().techniques}
    assert ids >= REQUIRED, REQUIRED - ids


def test_user_facing_wording_names_no_clinical_condition() -> None:
    for technique in techniques.catalog().techniques:
        texts = [
            technique.title,
            technique.description,
            technique.evidence.justification,
            *technique.steps,
            *technique.helps_with.situations,
        ]
        for text in texts:
            assert not CLINICAL.search(text), (technique.id, text)


def test_embedding_text_holds_title_description_and_when_it_helps() -> None:
    technique = techniques.catalog().techniques[0]
    text = technique.embedding_text()
    assert technique.title in text
    assert technique.description in text
    assert technique.helps_with.situations[0] in text
    assert "neutral" not in text.split("Feelings:")[1]


def test_catalog_is_read_once_per_process() -> None:
    assert techniques.catalog() is techniques.catalog()


def test_duplicate_ids_are_refused() -> None:
    document = shipped()
    document["techniques"].append(document["techniques"][0])
    with pytest.raises(pydantic.ValidationError, match="duplicate technique ids"):
        techniques.parse(json.dumps(document))


def test_unknown_emotion_is_refused_with_its_field() -> None:
    document = shipped()
    document["techniques"][0]["helps_with"]["emotions"] = ["melancholy"]
    with pytest.raises(pydantic.ValidationError) as caught:
        techniques.parse(json.dumps(document))
    assert caught.value.errors()[0]["loc"][:4] == ("techniques", 0, "helps_with", "emotions")


def test_two_steps_are_too_few() -> None:
    document = shipped()
    document["techniques"][0]["steps"] = ["one", "two"]
    with pytest.raises(pydantic.ValidationError, match="steps"):
        techniques.parse(json.dumps(document))


def test_fewer_than_40_techniques_are_refused() -> None:
    document = shipped()
    document["techniques"] = document["techniques"][:39]
    with pytest.raises(pydantic.ValidationError, match="at least 40"):
        techniques.parse(json.dumps(document))
