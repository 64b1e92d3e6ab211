"""values.yaml documents itself, and values.schema.json and README.md are generated from it.

Aspects: every key has a `# --` comment; the committed schema and README table are what
`hack/chart_schema.py` generates (so editing values.yaml without `make chart-docs` fails);
the defaults themselves satisfy the schema; the comment parser understands nesting and
`# @default --`.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from hack import chart_schema
from tests.charts import chart


@pytest.mark.parametrize("chart_dir", [chart.CHART, chart.PLATFORM_CHART], ids=lambda p: p.name)
def test_schema_and_readme_are_generated_from_values(chart_dir: Path) -> None:
    outputs, errors = chart_schema.expected_outputs(chart_dir)
    assert not errors
    stale = [p.name for p, text in outputs.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"{stale} out of date: run `make chart-docs`"


def test_default_values_satisfy_the_schema() -> None:
    schema = json.loads((chart.CHART / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((chart.CHART / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(values, schema)


def test_ci_values_satisfy_the_schema() -> None:
    schema = json.loads((chart.CHART / "values.schema.json").read_text(encoding="utf-8"))
    for name in chart.CI_VALUES:
        jsonschema.validate(chart.ci_values(name), schema)


def test_comment_parser_reads_nesting_and_default_overrides() -> None:
    text = (
        "# -- top level\n"
        "first: 1\n"
        "outer:\n"
        "  # -- nested, over\n"
        "  # two lines\n"
        "  # @default -- something readable\n"
        "  inner: {}\n"
        "\n"
        "# -- separated\n"
        "\n"
        "undocumented: true\n"
    )
    docs = chart_schema.parse_docs(text)
    assert docs == {
        ("first",): chart_schema.Doc("top level", None),
        ("outer", "inner"): chart_schema.Doc("nested, over two lines", "something readable"),
    }


def test_an_undocumented_key_is_an_error() -> None:
    values = {"documented": 1, "group": {"known": 1, "forgotten": 2}}
    docs = {
        ("documented",): chart_schema.Doc("d", None),
        ("group", "known"): chart_schema.Doc("k", None),
    }
    _, errors = chart_schema.build_schema(values, docs)
    assert errors == ["group.forgotten has no `# --` comment"]
