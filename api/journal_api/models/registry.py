"""Imports every ORM model module so `Base.metadata` knows all tables.

Imported by `migrations/env.py` and `main.py`. OTHER ENGINEERS: when you add a model
module, add one import line below (alphabetical); nothing else needs to change.
"""

from __future__ import annotations

from journal_api.models import (
    analysis,
    audit,
    emotion_day,
    entry,
    entry_usage,
    job,
    login_failure,
    theme_snapshot,
    token,
    topic,
    user,
    writing_day,
)

MODULES = (
    analysis,
    audit,
    emotion_day,
    entry,
    entry_usage,
    job,
    login_failure,
    theme_snapshot,
    token,
    topic,
    user,
    writing_day,
)
