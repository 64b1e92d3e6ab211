"""The `refresh_tokens` table: one row per issued refresh token, stored as a hash.

Tokens issued by rotation share a `family_id` with the login that started the chain, so
presenting an already-used token can revoke the whole family (theft detection).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class RefreshToken(base.Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # SHA-256 of the opaque token: a database leak does not yield usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = base.created_at_column()
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # Keyed hash of the client (address, user agent) that used it: a retry by the same
    # client within the grace window is not a replay (`routes/auth.refresh`).
    used_by: Mapped[str | None] = mapped_column(String(64))
