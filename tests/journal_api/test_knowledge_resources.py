"""Crisis resources by locale (`knowledge/resources.py`, `crisis_resources.json`):

- a locale with a country gets that country's lines (US 988, UK and Ireland Samaritans
  116 123), in BCP 47 or POSIX spelling, with "UK" taken as GB;
- a bare language, an unknown country or no locale gets the worldwide fallback
  (findahelpline.com);
- `JOURNAL_API_CRISIS_RESOURCES_FILE` replaces the shipped file; a bad file is refused when
  the app is built, with the reason.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pydantic
import pytest
from journal_api import main
from journal_api import settings as settings_module
from journal_api.knowledge import resources
from journal_api.services import safety

from tests.journal_api.conftest import make_settings

OPERATOR_FILE: dict[str, Any] = {
    "version": "operator-1",
    "message": "You matter. Please reach out to someone now; help is available.",
    "regions": [
        {
            "countries": ["DE"],
            "emergency_number": "112",
            "resources": [
                {
                    "name": "TelefonSeelsorge",
                    "description": "Free and anonymous, around the clock.",
                    "phone": "0800 111 0 111",
                    "url": "https://www.telefonseelsorge.de",
                }
            ],
        }
    ],
    "fallback": {
        "countries": [],
        "emergency_number": None,
        "resources": [
            {
                "name": "Find A Helpline",
                "description": "Helplines worldwide.",
                "url": "https://findahelpline.com",
            }
        ],
    },
}


def names(locale: str | None) -> list[str]:
    return [r.name for r in resources.load().for_locale(locale)[1].resources]


@pytest.mark.parametrize(
    ("locale", "country", "first"),
    [
        ("en-US", "US", "988 Suicide & Crisis Lifeline"),
        ("es_US", "US", "988 Suicide & Crisis Lifeline"),
        ("en-GB", "GB", "Samaritans"),
        ("en-UK", "GB", "Samaritans"),
        ("en_GB.UTF-8", "GB", "Samaritans"),
        ("ga-IE", "IE", "Samaritans Ireland"),
        ("fr-CA", "CA", "9-8-8: Suicide Crisis Helpline"),
        ("en-AU", "AU", "Lifeline Australia"),
    ],
)
def test_locale_with_a_country_gets_that_countrys_lines(
    locale: str, country: str, first: str
) -> None:
    chosen, region = resources.load().for_locale(locale)
    assert chosen == country
    assert region.resources[0].name == first


def test_us_and_uk_numbers_are_the_national_lines() -> None:
    us = resources.load().for_locale("en-US")[1].resources[0]
    gb = resources.load().for_locale("en-GB")[1].resources[0]
    assert (us.phone, gb.phone) == ("988", "116 123")


@pytest.mark.parametrize("locale", [None, "", "en", "de-DE", "zh-Hant-TW", "not a locale"])
def test_no_country_or_an_unlisted_one_falls_back_to_find_a_helpline(locale: str | None) -> None:
    chosen, region = resources.load().for_locale(locale)
    assert chosen is None
    assert [str(r.url) for r in region.resources] == ["https://findahelpline.com/"]


def test_support_carries_the_message_and_the_chosen_lines() -> None:
    support = safety.support(resources.load(), locale="en-GB")
    assert support.country == "GB"
    assert support.emergency_number == "999"
    assert support.message.startswith("It sounds like")
    assert next(r.phone for r in support.resources) == "116 123"


def test_operator_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "resources.json"
    path.write_text(json.dumps(OPERATOR_FILE))
    settings = settings_module.Settings(
        _env_file=None, environment="development", crisis_resources_file=path
    )
    loaded = resources.load(settings.crisis_resources_file)
    assert loaded.version == "operator-1"
    assert names("de-DE") == ["Find A Helpline"]  # the shipped file is untouched
    assert [r.name for r in loaded.for_locale("de-DE")[1].resources] == ["TelefonSeelsorge"]
    assert loaded.for_locale("en-US")[0] is None  # only what the operator listed


def _rewrite(path: Path, document: dict[str, Any] | str, *, tick: int) -> None:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    # Whole seconds apart: a coarse file-system clock cannot hide the change.
    stamp = 1_800_000_000 + tick
    os.utime(path, (stamp, stamp))


def test_an_edited_file_is_read_again_and_a_bad_edit_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The kubelet rewrites a mounted ConfigMap in place: edits reach users without a
    restart, and a broken edit never takes the crisis lines away."""
    path = tmp_path / "mounted.json"
    _rewrite(path, OPERATOR_FILE, tick=0)
    assert resources.load(path).version == "operator-1"
    _rewrite(path, dict(OPERATOR_FILE, version="operator-2"), tick=1)
    assert resources.load(path).version == "operator-2"
    with caplog.at_level(logging.ERROR, logger=resources.__name__):
        _rewrite(path, "{not json", tick=2)
        assert resources.load(path).version == "operator-2"
        path.unlink()
        assert resources.load(path).version == "operator-2"
    assert [r.message for r in caplog.records] == [
        "crisis resources file unusable, keeping the last good version"
    ] * 2
    _rewrite(path, dict(OPERATOR_FILE, version="operator-3"), tick=3)
    assert resources.load(path).version == "operator-3"


def test_resources_file_setting_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mounted.json"
    monkeypatch.setenv("JOURNAL_API_CRISIS_RESOURCES_FILE", str(path))
    assert (
        settings_module.Settings(_env_file=None, environment="development").crisis_resources_file
        == path
    )


def test_bad_operator_file_stops_the_app_from_being_built(tmp_path: Path) -> None:
    broken = dict(OPERATOR_FILE, regions=[{**OPERATOR_FILE["regions"][0], "countries": ["de"]}])
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    settings = make_settings("postgresql://unused/db", "redis://unused", crisis_resources_file=path)
    with pytest.raises(pydantic.ValidationError, match="ISO 3166-1"):
        main.create_app(settings)


def test_a_resource_nobody_can_reach_is_refused() -> None:
    document = json.loads(json.dumps(OPERATOR_FILE))
    document["regions"][0]["resources"][0] = {"name": "Nowhere", "description": "no way in"}
    with pytest.raises(pydantic.ValidationError, match="needs a phone"):
        resources.parse(json.dumps(document))
