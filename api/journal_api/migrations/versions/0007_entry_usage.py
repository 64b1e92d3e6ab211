"""Per-user usage kept by the database: entries held and characters of text in them.

`entry_usage` has one row per user who has written: how many entries they hold and how
many characters their titles and contents add up to. A trigger on `entries` keeps it
exact in the transaction of every write, whoever writes: an insert adds the entry, a
delete takes it away, an edit of the title or content swaps its length. Taking away only
updates, so the cascade from a deleted account never re-inserts a row. The API reads it,
under a row lock, to refuse writes beyond the per-user quotas (`services/entries.py`).

The backfill counts existing entries under a lock that holds off concurrent writes until
the trigger exists. Expand only: the previous release neither reads nor writes the table,
and its writes are counted by the trigger all the same.

Revision ID: 0007_entry_usage
Revises: 0006_login_failures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_entry_usage"
down_revision = "0006_login_failures"
branch_labels = None
depends_on = None

_MAINTAIN = """
CREATE FUNCTION entries_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO entry_usage AS u (user_id, entries, text_chars)
    VALUES (NEW.user_id, 1, length(coalesce(NEW.title, '')) + length(NEW.content))
    ON CONFLICT (user_id) DO UPDATE
      SET entries = u.entries + 1, text_chars = u.text_chars + EXCLUDED.text_chars;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE entry_usage
      SET entries = entries - 1,
          text_chars = text_chars - length(coalesce(OLD.title, '')) - length(OLD.content)
      WHERE user_id = OLD.user_id;
  ELSE
    UPDATE entry_usage
      SET text_chars = text_chars
          + length(coalesce(NEW.title, '')) + length(NEW.content)
          - length(coalesce(OLD.title, '')) - length(OLD.content)
      WHERE user_id = NEW.user_id;
  END IF;
  RETURN NULL;
END $$
"""

_BACKFILL = """
INSERT INTO entry_usage (user_id, entries, text_chars)
SELECT user_id, count(*), sum(length(coalesce(title, '')) + length(content))
FROM entries GROUP BY user_id
"""


def upgrade() -> None:
    op.create_table(
        "entry_usage",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("entries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("text_chars", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_entry_usage_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_entry_usage"),
    )
    op.execute(_MAINTAIN)
    # Entries written while this runs (the previous release) wait for the trigger, so
    # none is counted twice or missed by the backfill.
    op.execute("LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_BACKFILL)
    op.execute(
        "CREATE TRIGGER entries_usage AFTER INSERT OR DELETE OR UPDATE OF title, content "
        "ON entries FOR EACH ROW EXECUTE FUNCTION entries_usage()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER entries_usage ON entries")
    op.execute("DROP FUNCTION entries_usage()")
    op.drop_table("entry_usage")
