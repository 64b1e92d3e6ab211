"""The `entry_usage` table: how many entries a user holds and how much text they hold.

Maintained by PostgreSQL itself (a trigger on `entries`, migration `0007_entry_usage`)
in the transaction of every entry write; nothing in Python writes it.
`repositories/usage.py` reads it to enforce the per-user quotas.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from journal_api.models import base


class EntryUsage(base.Base):
    __tablename__ = "entry_usage"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    entries: Mapped[int] = mapped_column(server_default="0")
    # Characters of every title and content together.
    text_chars: Mapped[int] = mapped_column(BigInteger, server_default="0")
