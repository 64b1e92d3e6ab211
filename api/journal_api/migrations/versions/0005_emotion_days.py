"""Per-day emotion aggregates kept by the database, and the worker's crisis verdict.

`emotion_days` holds, per user and local day, what that day's analysed entries add up
to: entry count, the sums of the 28 GoEmotions scores, counts per Ekman label and per
sentiment label, and the sum of polarity. Two triggers on `entry_analyses` keep it
exact in the transaction of every write, whoever writes (the worker, an edit, a
delete, a cascade from the entry, an older worker still running during a roll-out):

1. `entry_analyses_local_day` (BEFORE) fixes the analysis's `local_day` the first time
   it is `done`: the date of the entry's `created_at` in the user's time zone then.
   It never changes afterwards (edits and re-analyses keep it), so the contribution
   subtracted later is the one that was added.
2. `entry_analyses_emotion_days` (AFTER) subtracts the old row's contribution when it
   was `done` and adds the new row's when it is `done`: a re-analysis swaps them, an
   edit (back to `pending`) or a delete only subtracts. A day whose count reaches 0
   is deleted.

A row contributes exactly when `status = 'done' AND local_day IS NOT NULL`. The
backfill gives every analysed entry its day and sums them per day, set-based, under a
lock that holds off concurrent analysis writes until the triggers exist.

Also adds `crisis_flagged` and `crisis_screening` (ids and numbers, never text): the
worker's safety screen of the analysed text (`services/safety.py`).

Revision ID: 0005_emotion_days
Revises: 0004_analysis
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_emotion_days"
down_revision = "0004_analysis"
branch_labels = None
depends_on = None

# The local day of an entry; a zone PostgreSQL does not know (Python's tzdata is newer)
# falls back to UTC rather than failing the analysis.
_LOCAL_DAY_FUNCTION = """
CREATE FUNCTION entry_local_day(p_entry_id uuid) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_created timestamptz;
  v_zone text;
BEGIN
  SELECT e.created_at, u.timezone INTO v_created, v_zone
  FROM entries e JOIN users u ON u.id = e.user_id WHERE e.id = p_entry_id;
  BEGIN
    RETURN (v_created AT TIME ZONE v_zone)::date;
  EXCEPTION WHEN invalid_parameter_value THEN
    RETURN (v_created AT TIME ZONE 'UTC')::date;
  END;
END $$
"""

_SET_LOCAL_DAY = """
CREATE FUNCTION entry_analyses_set_local_day() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'done' AND NEW.local_day IS NULL THEN
    NEW.local_day := entry_local_day(NEW.entry_id);
  END IF;
  RETURN NEW;
END $$
"""

# p_sign is +1 (add a row's contribution) or -1 (take it away). Adding upserts; taking
# away only updates, so a cascade from a deleted account never re-inserts a day.
_APPLY_FUNCTION = """
CREATE FUNCTION emotion_days_apply(
  p_user_id uuid, p_day date, p_sign integer, p_scores real[],
  p_ekman text, p_sentiment text, p_polarity real
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_sign > 0 THEN
    INSERT INTO emotion_days AS d
      (user_id, day, entries, emotion_sums, ekman_counts, sentiment_counts, polarity_sum)
    VALUES (
      p_user_id, p_day, 1, coalesce(p_scores::float8[], '{}'),
      CASE WHEN p_ekman IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(p_ekman, 1) END,
      CASE WHEN p_sentiment IS NULL THEN '{}'::jsonb
           ELSE jsonb_build_object(p_sentiment, 1) END,
      coalesce(p_polarity, 0)
    )
    ON CONFLICT (user_id, day) DO UPDATE SET
      entries = d.entries + 1,
      emotion_sums = emotion_sums_plus(d.emotion_sums, p_scores, 1),
      ekman_counts = label_counts_plus(d.ekman_counts, p_ekman, 1),
      sentiment_counts = label_counts_plus(d.sentiment_counts, p_sentiment, 1),
      polarity_sum = d.polarity_sum + coalesce(p_polarity, 0),
      updated_at = now();
  ELSE
    UPDATE emotion_days AS d SET
      entries = d.entries - 1,
      emotion_sums = emotion_sums_plus(d.emotion_sums, p_scores, -1),
      ekman_counts = label_counts_plus(d.ekman_counts, p_ekman, -1),
      sentiment_counts = label_counts_plus(d.sentiment_counts, p_sentiment, -1),
      polarity_sum = d.polarity_sum - coalesce(p_polarity, 0),
      updated_at = now()
    WHERE d.user_id = p_user_id AND d.day = p_day;
    -- An empty day goes, and with it any rounding left in its sums.
    DELETE FROM emotion_days WHERE user_id = p_user_id AND day = p_day AND entries <= 0;
  END IF;
END $$
"""

_SUMS_PLUS = """
CREATE FUNCTION emotion_sums_plus(p_sums float8[], p_scores real[], p_sign integer)
RETURNS float8[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(coalesce(s, 0) + p_sign * coalesce(x, 0) ORDER BY i), '{}')
  FROM unnest(p_sums, p_scores::float8[]) WITH ORDINALITY AS t(s, x, i)
$$
"""

_COUNTS_PLUS = """
CREATE FUNCTION label_counts_plus(p_counts jsonb, p_label text, p_sign integer)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_label IS NULL THEN p_counts
    WHEN coalesce((p_counts ->> p_label)::integer, 0) + p_sign = 0 THEN p_counts - p_label
    ELSE p_counts || jsonb_build_object(
      p_label, coalesce((p_counts ->> p_label)::integer, 0) + p_sign)
  END
$$
"""

_MAINTAIN = """
CREATE FUNCTION entry_analyses_emotion_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND
     (OLD.status, OLD.local_day, OLD.user_id, OLD.emotion_scores, OLD.ekman, OLD.sentiment,
      OLD.polarity)
     IS NOT DISTINCT FROM
     (NEW.status, NEW.local_day, NEW.user_id, NEW.emotion_scores, NEW.ekman, NEW.sentiment,
      NEW.polarity) THEN
    RETURN NULL;  -- nothing counted changed (the crisis verdict, a timestamp)
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.status = 'done' AND OLD.local_day IS NOT NULL THEN
    PERFORM emotion_days_apply(OLD.user_id, OLD.local_day, -1, OLD.emotion_scores,
                               OLD.ekman, OLD.sentiment, OLD.polarity);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.status = 'done' AND NEW.local_day IS NOT NULL THEN
    PERFORM emotion_days_apply(NEW.user_id, NEW.local_day, 1, NEW.emotion_scores,
                               NEW.ekman, NEW.sentiment, NEW.polarity);
  END IF;
  RETURN NULL;
END $$
"""

_BACKFILL = """
WITH done AS (
  SELECT user_id, local_day AS day, emotion_scores, ekman, sentiment, polarity
  FROM entry_analyses WHERE status = 'done' AND local_day IS NOT NULL
), totals AS (
  SELECT user_id, day, count(*) AS entries, coalesce(sum(polarity::float8), 0) AS polarity
  FROM done GROUP BY user_id, day
), sums AS (
  SELECT user_id, day, array_agg(total ORDER BY i) AS emotion_sums
  FROM (SELECT d.user_id, d.day, t.i, sum(t.x::float8) AS total
        FROM done d, unnest(d.emotion_scores) WITH ORDINALITY AS t(x, i)
        GROUP BY d.user_id, d.day, t.i) per_label
  GROUP BY user_id, day
), ekman AS (
  SELECT user_id, day, jsonb_object_agg(ekman, n) AS counts
  FROM (SELECT user_id, day, ekman, count(*) AS n FROM done WHERE ekman IS NOT NULL
        GROUP BY user_id, day, ekman) per_label
  GROUP BY user_id, day
), sentiment AS (
  SELECT user_id, day, jsonb_object_agg(sentiment, n) AS counts
  FROM (SELECT user_id, day, sentiment, count(*) AS n FROM done WHERE sentiment IS NOT NULL
        GROUP BY user_id, day, sentiment) per_label
  GROUP BY user_id, day
)
INSERT INTO emotion_days
  (user_id, day, entries, emotion_sums, ekman_counts, sentiment_counts, polarity_sum)
SELECT t.user_id, t.day, t.entries, coalesce(s.emotion_sums, '{}'),
       coalesce(e.counts, '{}'), coalesce(n.counts, '{}'), t.polarity
FROM totals t
LEFT JOIN sums s USING (user_id, day)
LEFT JOIN ekman e USING (user_id, day)
LEFT JOIN sentiment n USING (user_id, day)
"""


def upgrade() -> None:
    op.add_column("entry_analyses", sa.Column("local_day", sa.Date(), nullable=True))
    op.add_column("entry_analyses", sa.Column("crisis_flagged", sa.Boolean(), nullable=True))
    op.add_column(
        "entry_analyses",
        sa.Column("crisis_screening", postgresql.JSONB(), nullable=True),
    )
    op.create_index(
        "ix_entry_analyses_user_id_local_day", "entry_analyses", ["user_id", "local_day"]
    )
    op.create_table(
        "emotion_days",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entries", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "emotion_sums", postgresql.ARRAY(sa.Double()), server_default="{}", nullable=False
        ),
        sa.Column("ekman_counts", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("sentiment_counts", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("polarity_sum", sa.Double(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_emotion_days_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name="pk_emotion_days"),
    )
    for statement in (_LOCAL_DAY_FUNCTION, _SET_LOCAL_DAY, _SUMS_PLUS, _COUNTS_PLUS):
        op.execute(statement)
    op.execute(_APPLY_FUNCTION)
    op.execute(_MAINTAIN)
    # Analyses written while this runs (an older worker) wait for the triggers to exist,
    # so none is counted twice or missed by the backfill below.
    op.execute("LOCK TABLE entry_analyses IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "UPDATE entry_analyses SET local_day = entry_local_day(entry_id) WHERE status = 'done'"
    )
    op.execute(_BACKFILL)
    op.execute(
        "CREATE TRIGGER entry_analyses_local_day BEFORE INSERT OR UPDATE ON entry_analyses "
        "FOR EACH ROW EXECUTE FUNCTION entry_analyses_set_local_day()"
    )
    op.execute(
        "CREATE TRIGGER entry_analyses_emotion_days "
        "AFTER INSERT OR UPDATE OR DELETE ON entry_analyses "
        "FOR EACH ROW EXECUTE FUNCTION entry_analyses_emotion_days()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER entry_analyses_emotion_days ON entry_analyses")
    op.execute("DROP TRIGGER entry_analyses_local_day ON entry_analyses")
    for function in (
        "entry_analyses_emotion_days()",
        "emotion_days_apply(uuid, date, integer, real[], text, text, real)",
        "label_counts_plus(jsonb, text, integer)",
        "emotion_sums_plus(float8[], real[], integer)",
        "entry_analyses_set_local_day()",
        "entry_local_day(uuid)",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("emotion_days")
    op.drop_index("ix_entry_analyses_user_id_local_day", table_name="entry_analyses")
    op.drop_column("entry_analyses", "crisis_screening")
    op.drop_column("entry_analyses", "crisis_flagged")
    op.drop_column("entry_analyses", "local_day")
