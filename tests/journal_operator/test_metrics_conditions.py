"""journal_operator_platform_condition: one series per current condition, none left stale.

The alerts (charts/journal-operator/files/alerts.yaml) read it; a condition that changed
reason or status must drop its old series, and a deleted platform must drop all of them,
or an alert would keep firing for a problem that is gone.
"""

from __future__ import annotations

from journal_operator import metrics
from prometheus_client import generate_latest

KEY = ("team-a", "conditions-test")


def _series() -> set[tuple[str, str, str]]:
    text = generate_latest().decode()
    found = set()
    for line in text.splitlines():
        if (
            line.startswith("journal_operator_platform_condition{")
            and 'name="conditions-test"' in line
        ):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            found.add(
                (
                    labels["type"].strip('"'),
                    labels["status"].strip('"'),
                    labels["reason"].strip('"'),
                )
            )
    return found


def test_conditions_replace_their_series_and_vanish_with_the_platform() -> None:
    metrics.record_phase(
        KEY,
        "Migrating",
        [
            {"type": "Ready", "status": "False", "reason": "ComponentsNotReady"},
            {"type": "Migrated", "status": "False", "reason": "Migrating"},
        ],
    )
    assert _series() == {
        ("Ready", "False", "ComponentsNotReady"),
        ("Migrated", "False", "Migrating"),
    }
    metrics.record_phase(
        KEY,
        "Degraded",
        [
            {"type": "Ready", "status": "False", "reason": "ComponentsNotReady"},
            {"type": "Migrated", "status": "False", "reason": "MigrationFailed"},
        ],
    )
    assert _series() == {
        ("Ready", "False", "ComponentsNotReady"),
        ("Migrated", "False", "MigrationFailed"),
    }
    metrics.record_phase(KEY, None)
    assert _series() == set()
