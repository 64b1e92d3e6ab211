"""Response body of `GET /api/v1/users/me/export`: everything a user owns, in one document.

Each entry carries its analysis (emotions, sentiment, the model that made it), since
that is personal data about the user too. Secrets (the password hash, token hashes) and
raw embedding vectors (384 numbers per entry, meaningful only to the model that made
them) are left out on purpose.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from journal_api.schemas import entry, topic, user

_EXPORT_EXAMPLE: dict[str, Any] = {
    "exported_at": "2026-11-21T09:00:00Z",
    "profile": {
        "id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
        "email": "ada@example.com",
        "display_name": "Ada",
        "timezone": "Europe/London",
        "created_at": "2026-01-02T10:00:00Z",
    },
    "topics": [topic.TOPIC_EXAMPLE],
    "entries": [entry.ENTRY_EXAMPLE],
}


class ExportDocument(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXPORT_EXAMPLE]})

    exported_at: dt.datetime
    profile: user.UserPublic
    topics: list[topic.TopicPublic]
    entries: list[entry.EntryPublic]
