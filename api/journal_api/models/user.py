"""The `users` table: an account and its token cut-off (failed logins: `login_failures`).

Every user-owned table references `users.id` with `ON DELETE CASCADE`, so deleting a
user removes everything derived from it (see `repositories/users.delete`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class User(base.Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased (see schemas/auth.py), so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    created_at: Mapped[dt.datetime] = base.created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Access tokens issued before this instant are refused (logout-all, password change).
    # Set with the database clock, like the tokens' `iat` it is compared with.
    tokens_valid_after: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    # Unused since migration 0006 (`login_failures` counts failures for every email); kept
    # while the previous release still maps them, dropped by a later contracting migration.
    failed_login_count: Mapped[int] = mapped_column(server_default="0")
    locked_until: Mapped[dt.datetime | None]
