"""Crisis resources by country, and the choice of them for a user's locale.

The default `crisis_resources.json` ships next to this module (988 in the US and Canada,
Samaritans 116 123 in the UK and Ireland, Lifeline, 1737, and findahelpline.com for everyone
else). An operator replaces it by mounting a file (the operator's `spec.api.crisisResources`
ConfigMap) and pointing `JOURNAL_API_CRISIS_RESOURCES_FILE` at it. The file is validated by the
models below at start-up (a bad file stops the API) and read again whenever it changes: the
kubelet swaps an edited ConfigMap's files in place, so new lines reach users without a restart,
and an edit that does not validate is logged and ignored, keeping the last good document.
Read by `routes/suggestions.py` and `services/safety.py`.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_FILE = "crisis_resources.json"
logger = logging.getLogger(__name__)
# Locale subtags that name a country: "en-GB", "en_GB", "fr-CA"; "UK" is a common alias of GB.
_REGION = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?[-_]([A-Za-z]{2})(?:[-_.@].*)?$")
_ALIASES = {"UK": "GB"}


class Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=2)
    description: str = Field(min_length=2)
    phone: str | None = None
    text: str | None = Field(default=None, description="A number to text, or how to text.")
    url: HttpUrl | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Resource:
        if not (self.phone or self.text or self.url):
            raise ValueError(f"{self.name}: a resource needs a phone, a text line or a URL")
        return self


class Region(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    countries: tuple[str, ...] = Field(description="ISO 3166-1 alpha-2 codes, upper case.")
    emergency_number: str | None
    resources: tuple[Resource, ...] = Field(min_length=1)

    @field_validator("countries")
    @classmethod
    def _iso_codes(cls, countries: tuple[str, ...]) -> tuple[str, ...]:
        for code in countries:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"{code!r} is not an upper-case ISO 3166-1 alpha-2 code")
        return countries


class Resources(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    message: str = Field(min_length=20, description="The supportive message shown first.")
    regions: tuple[Region, ...]
    fallback: Region

    @model_validator(mode="after")
    def _one_region_per_country(self) -> Resources:
        countries = [c for region in self.regions for c in region.countries]
        if len(set(countries)) != len(countries):
            raise ValueError("a country appears in more than one region")
        return self

    def for_locale(self, locale: str | None) -> tuple[str | None, Region]:
        """The country ``locale`` names and its region, or (None, fallback).

        A locale names a country only with a region subtag ("en-GB", "fr_CA"); a bare
        language ("en") says nothing about where someone is, so it gets the fallback.
        """
        country = country_of(locale)
        for region in self.regions:
            if country in region.countries:
                return country, region
        return None, self.fallback


def country_of(locale: str | None) -> str | None:
    """The upper-case country code of a BCP 47 or POSIX locale, if it has one."""
    match = _REGION.match((locale or "").strip())
    if match is None:
        return None
    code = match.group(1).upper()
    return _ALIASES.get(code, code)


def parse(raw: str | bytes) -> Resources:
    """Validate a resources document (raises `pydantic.ValidationError`)."""
    return Resources.model_validate_json(raw)


@functools.cache
def _shipped() -> Resources:
    return parse(importlib.resources.files(__package__).joinpath(DEFAULT_FILE).read_bytes())


# path -> (the file's modification time when read, what it held): one stat per call.
_loaded: dict[Path, tuple[int, Resources]] = {}


def load(path: Path | None = None) -> Resources:
    """The resources in ``path`` (read again when it changes), or the shipped default.

    Raises:
        OSError: the file cannot be read, and no earlier version of it was.
        pydantic.ValidationError: it is not a valid resources document, and no earlier
            version of it was.
    """
    if path is None:
        return _shipped()
    known = _loaded.get(path)
    try:
        changed = path.stat().st_mtime_ns
        if known is not None and known[0] == changed:
            return known[1]
        resources = parse(path.read_bytes())
    except (OSError, ValidationError) as exc:
        if known is None:
            raise
        logger.error(
            "crisis resources file unusable, keeping the last good version",
            extra={"path": str(path), "error": type(exc).__name__, "version": known[1].version},
        )
        return known[1]
    if known is not None:
        logger.info(
            "crisis resources file reloaded",
            extra={"path": str(path), "version": resources.version},
        )
    _loaded[path] = (changed, resources)
    return resources
