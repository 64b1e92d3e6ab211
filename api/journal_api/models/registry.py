"""Imports every ORM model module so `Base.metadata` knows all tables.

Imported by `migrations/env.py` and `main.py`. When you add a model module, name it in the
import and in `MODULES` (static imports keep it visible to mypy and import-linter);
tests/journal_api/test_repositories_schema.py fails while a module of this package is missing.
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
