"""Per-day writing aggregates kept by the database, for writing insights.

`writing_days` holds, per user and local day (the date of an entry's `created_at` in the
user's time zone), the day's entry count, word count, and the sum and count of its
moods, so `GET /insights/writing` reads at most one row per day instead of every entry
of a year. Triggers keep it exact in the transaction of every write, whoever writes:

1. `entries_writing_days` (AFTER INSERT, DELETE, or UPDATE of `created_at`,
   `word_count`, `mood`) subtracts the old row's contribution and adds the new one's. A
   day whose count reaches 0 is deleted. When the user row is already gone (an account
   deletion cascading to its entries) there is nothing to keep: the cascade removes the
   user's days too.
2. `users_writing_days` (AFTER UPDATE OF `timezone`) recomputes the user's days in the
   new zone, so the days stay those of the profile's current time zone, as the
   query they replace computed them.

A zone PostgreSQL does not know (Python's tzdata can be newer) counts in UTC, as
`emotion_days` does. The backfill sums every entry, set-based, under a lock that holds
off concurrent entry writes until the triggers exist.

Expand only (the compatibility line stays): a new table and triggers; the previous
release neither reads nor writes it, and its entry writes are counted by the triggers.

Revision ID: 0008_writing_days
Revises: 0007_entry_usage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_writing_days"
down_revision = "0007_entry_usage"
branch_labels = None
depends_on = None

_LOCAL_DATE = """
CREATE FUNCTION local_date(p_at timestamptz, p_zone text) RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (p_at AT TIME ZONE p_zone)::date;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN (p_at AT TIME ZONE 'UTC')::date;
END $$
"""

_APPLY = """
CREATE FUNCTION writing_days_apply(
  p_user_id uuid, p_at timestamptz, p_words integer, p_mood smallint, p_sign integer
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_zone text;
  v_day date;
BEGIN
  SELECT timezone INTO v_zone FROM users WHERE id = p_user_id;
  IF NOT FOUND THEN
    RETURN;  -- the user is being deleted: its days go with it
  END IF;
  v_day := local_date(p_at, v_zone);
  INSERT INTO writing_days AS w (user_id, day, entries, words, mood_sum, mood_entries)
  VALUES (p_user_id, v_day, p_sign, p_sign * p_words, p_sign * coalesce(p_mood, 0),
          CASE WHEN p_mood IS NULL THEN 0 ELSE p_sign END)
  ON CONFLICT (user_id, day) DO UPDATE SET
    entries = w.entries + EXCLUDED.entries,
    words = w.words + EXCLUDED.words,
    mood_sum = w.mood_sum + EXCLUDED.mood_sum,
    mood_entries = w.mood_entries + EXCLUDED.mood_entries;
  DELETE FROM writing_days WHERE user_id = p_user_id AND day = v_day AND entries <= 0;
END $$
"""

_ENTRIES_TRIGGER = """
CREATE FUNCTION entries_writing_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM writing_days_apply(OLD.user_id, OLD.created_at, OLD.word_count, OLD.mood, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM writing_days_apply(NEW.user_id, NEW.created_at, NEW.word_count, NEW.mood, 1);
  END IF;
  RETURN NULL;
END $$
"""

# Every entry of the users in the statement, summed per local day of their zone.
_RECOUNT = """
INSERT INTO writing_days (user_id, day, entries, words, mood_sum, mood_entries)
SELECT e.user_id, local_date(e.created_at, u.timezone), count(*),
       coalesce(sum(e.word_count), 0), coalesce(sum(e.mood), 0), count(e.mood)
FROM entries e JOIN users u ON u.id = e.user_id
{where}
GROUP BY e.user_id, local_date(e.created_at, u.timezone)
"""

_USERS_TRIGGER = f"""
CREATE FUNCTION users_writing_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM writing_days WHERE user_id = NEW.id;
  {_RECOUNT.format(where="WHERE e.user_id = NEW.id").strip()};
  RETURN NULL;
END $$
"""

_FUNCTIONS = (
    "users_writing_days()",
    "entries_writing_days()",
    "writing_days_apply(uuid, timestamptz, integer, smallint, integer)",
    "local_date(timestamptz, text)",
)


def upgrade() -> None:
    op.create_table(
        "writing_days",
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("words", sa.BigInteger(), nullable=False),
        sa.Column("mood_sum", sa.BigInteger(), nullable=False),
        sa.Column("mood_entries", sa.Integer(), nullable=False),
    )
    for statement in (_LOCAL_DATE, _APPLY, _ENTRIES_TRIGGER, _USERS_TRIGGER):
        op.execute(statement)
    # Writers wait from here until the triggers exist, so no entry is missed or counted twice.
    op.execute("LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE")
    op.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_RECOUNT.format(where=""))
    op.execute(
        "CREATE TRIGGER entries_writing_days "
        "AFTER INSERT OR DELETE OR UPDATE OF created_at, word_count, mood, user_id ON entries "
        "FOR EACH ROW EXECUTE FUNCTION entries_writing_days()"
    )
    op.execute(
        "CREATE TRIGGER users_writing_days AFTER UPDATE OF timezone ON users "
        "FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone) "
        "EXECUTE FUNCTION users_writing_days()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER users_writing_days ON users")
    op.execute("DROP TRIGGER entries_writing_days ON entries")
    for function in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("writing_days")
