"""NOTES.txt is the first lesson: where the operator runs, and a JournalPlatform that works.

Aspects: the notes name the release namespace and the watch scope; the copy-paste
`kubectl apply -f - <<EOF` resource is valid against the CRD's own schema and goes to a
namespace the operator actually watches; they end with `kubectl get jp -A`.

`helm template` does not render NOTES.txt, and `helm install --dry-run` needs a cluster, so
`chart.render_notes` renders them through `tpl` from a copy of the chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.charts import chart
from tests.support import helm as helm_support


def _crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(chart.CRD_SOURCE.read_text(encoding="utf-8"))
    storage = next(v for v in crd["spec"]["versions"] if v["storage"])
    schema: dict[str, Any] = storage["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_notes_example_is_a_valid_journalplatform_in_a_watched_namespace(
    helm: helm_support.Helm, tmp_path: Path, scenario: str
) -> None:
    notes = chart.render_notes(helm, tmp_path, chart.CI_VALUES[scenario])
    resource = chart.notes_example(notes)
    assert resource["apiVersion"] == f"{chart.crd_group()}/v1alpha1"
    assert resource["kind"] == "JournalPlatform"
    jsonschema.validate(resource, _crd_schema())
    watched = chart.ci_values(scenario).get("watchNamespaces") or []
    assert resource["metadata"]["namespace"] in (watched or [chart.NAMESPACE])


@pytest.mark.parametrize("scenario", sorted(chart.CI_VALUES))
def test_notes_say_where_the_operator_runs_and_how_to_look(
    helm: helm_support.Helm, tmp_path: Path, scenario: str
) -> None:
    notes = chart.render_notes(helm, tmp_path, chart.CI_VALUES[scenario])
    assert f'namespace "{chart.NAMESPACE}"' in notes
    assert "kubectl get jp -A" in notes
    for namespace in chart.ci_values(scenario).get("watchNamespaces") or []:
        assert namespace in notes
