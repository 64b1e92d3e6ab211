"""The `login_failures` table: failed password checks per keyed hash of an email.

One mechanism for every email, account or not (`services/credentials.py`), kept in
PostgreSQL so that it behaves the same whatever state Redis is in.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class LoginFailure(base.Base):
    __tablename__ = "login_failures"

    # HMAC of the lower-cased email (`services/credentials.subject`), never the email.
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Failures in a row, each within `login_lockout_seconds` of the previous one.
    failures: Mapped[int]
    last_failure_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), index=True)
    locked_until: Mapped[dt.datetime | None]
