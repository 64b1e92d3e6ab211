"""Theme snapshots: each user's themes as the worker last computed them.

`theme_snapshots` holds one row per user: the JSON body of `GET /insights/themes` for
the default number of entries, the fingerprint of the entries it clustered and when it
was computed (`models/theme_snapshot.py`). Nothing is backfilled: a user's first read,
or the worker after the next analysis, computes it.

Expand only (the compatibility line stays): a new table; the previous release neither
reads nor writes it. Its entry deletions and edits do not clear a row, so a row may
show an entry deleted by the previous release until the worker's next refresh of that
user; the rollout replaces the previous release's pods within minutes.

Revision ID: 0009_theme_snapshots
Revises: 0008_writing_days
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_theme_snapshots"
down_revision = "0008_writing_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "theme_snapshots",
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("max_entries", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_table("theme_snapshots")
