"""The `theme_snapshots` table: each user's themes as the worker last computed them.

Clustering a year of embeddings takes most of a second, too long for a request, so the
worker (`services/jobs.refresh_themes`) computes the themes of a user's
`services/themes.DEFAULT_ENTRIES` most recent analysed entries a little after analyses
land, and `GET /insights/themes` serves the stored body. Deleting an entry, or editing
its text, deletes the row in the same transaction (an excerpt must not outlive its
entry); until the worker refreshes it, a read computes the themes itself.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class ThemeSnapshot(base.Base):
    __tablename__ = "theme_snapshots"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    max_entries: Mapped[int]
    # The JSON body exactly as the API serves it.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # Of the entries clustered (ids, edits, analyses): a refresh that would find the
    # same entries skips the clustering.
    fingerprint: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
