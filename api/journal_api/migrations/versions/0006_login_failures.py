"""Failed logins counted per email, alike for accounts and unknown emails; refresh
retries recognised by client.

`login_failures` takes over from `users.failed_login_count` and `users.locked_until`: one
row per keyed hash of an email (never the email), whether or not an account has it, so a lock,
its `Retry-After` and the decay of the count are the same for a real account and an
unknown email, with Redis up, down or disabled. `refresh_tokens.used_by` is a keyed hash
of the client (address and user agent) that used a token, so a retry of the same refresh
by the same client is told apart from a replay by anyone else.

Expand only (the compatibility line stays): the two `users` columns are no longer written
or read but stay, since the previous release still maps them; a later contracting
migration drops them.

Revision ID: 0006_login_failures
Revises: 0005_emotion_days
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_login_failures"
down_revision = "0005_emotion_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_failure_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_last_failure_at", "login_failures", ["last_failure_at"])
    op.add_column("refresh_tokens", sa.Column("used_by", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("refresh_tokens", "used_by")
    op.drop_index("ix_login_failures_last_failure_at", table_name="login_failures")
    op.drop_table("login_failures")
