"""Generate a chart's ``values.schema.json`` and README values table from its ``values.yaml``.

The ``# --`` comments in ``values.yaml`` (helm-docs syntax, with ``# @default --`` for a
readable default) are the single source of descriptions: this script turns them into JSON
Schema descriptions and into the table between ``<!-- values:start -->`` and
``<!-- values:end -->`` in the chart's README.md. It stands in for helm-schema and helm-docs,
which no reachable registry ships. Types come from the defaults; the few constraints a
default cannot express (``replicaCount`` is 1, enums, ports) are in ``CONSTRAINTS`` below.
With no argument it works on charts/journal-operator; pass another chart folder to change that.

``make chart-docs`` runs it; ``--check`` writes nothing and exits 1 when either file is stale
or a key lacks its ``# --`` comment (``tests/charts/test_chart_values.py`` runs the same).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHART = ROOT / "charts" / "journal-operator"
TABLE_START = "<!-- values:start -->"
TABLE_END = "<!-- values:end -->"

Path_ = tuple[str, ...]

_DNS1123_LABEL = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_PORT = {"minimum": 1, "maximum": 65535}
# The CRD's pattern for spec.images.registry: a registry host and path, no trailing slash.
_REGISTRY_PATTERN = r"^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$"
_REGISTRY = {"type": "string", "maxLength": 200, "pattern": _REGISTRY_PATTERN}
_SEMVER = r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z][0-9A-Za-z.-]*)?$"
# What the defaults cannot say, per chart folder name and value path; merged into the node.
OPERATOR_CONSTRAINTS: dict[Path_, dict[str, Any]] = {
    ("replicaCount",): {"const": 1},
    ("watchNamespaces",): {"items": _DNS1123_LABEL, "uniqueItems": True},
    ("logLevel",): {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
    ("image", "registry"): {**_REGISTRY, "pattern": f"^$|{_REGISTRY_PATTERN}"},
    ("image", "repository"): {"minLength": 1},
    ("image", "pullPolicy"): {"enum": ["Always", "IfNotPresent", "Never"]},
    ("imagePullSecrets",): {
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        }
    },
    ("extraEnv",): {
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1}},
        }
    },
    ("tolerations",): {"items": {"type": "object"}},
    ("terminationGracePeriodSeconds",): {"minimum": 0},
    ("liveness", "port"): _PORT,
    ("metrics", "port"): _PORT,
    ("metrics", "serviceMonitor", "interval"): {"pattern": "^[0-9]+(ms|s|m|h)$"},
}
PLATFORM_CONSTRAINTS: dict[Path_, dict[str, Any]] = {
    # Empty, or a DNS-1123 subdomain (what Kubernetes accepts as an object name).
    ("name",): {"pattern": "^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 63},
    # Empty, or the semantic version the CRD's CEL rule accepts for spec.version.
    ("version",): {"pattern": f"^$|{_SEMVER}"},
    ("images", "registry"): _REGISTRY,
}
CONSTRAINTS: dict[str, dict[Path_, dict[str, Any]]] = {
    "journal-operator": OPERATOR_CONSTRAINTS,
    "journal-platform": PLATFORM_CONSTRAINTS,
}

_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_.-]+):(\s|$)")


@dataclass(frozen=True)
class Doc:
    """One ``# --`` comment: the description and an optional ``# @default --`` text."""

    description: str
    default: str | None


def parse_docs(values_text: str) -> dict[Path_, Doc]:
    """Map each documented key path in a values.yaml text to its comment.

    Args:
        values_text: the file's content.

    Returns:
        key path (``("image", "tag")``) -> its ``Doc``; undocumented keys are absent.
    """
    docs: dict[Path_, Doc] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    pending_default: str | None = None
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# @default --"):
            pending_default = stripped.removeprefix("# @default --").strip()
        elif stripped.startswith("# --"):
            pending, pending_default = [stripped.removeprefix("# --").strip()], None
        elif stripped.startswith("#"):
            if pending is not None:
                pending.append(stripped.lstrip("#").strip())
        elif not stripped:
            pending, pending_default = None, None
        elif match := _KEY_LINE.match(line):
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match["key"]))
            if pending is not None:
                path = tuple(key for _, key in stack)
                docs[path] = Doc(" ".join(part for part in pending if part), pending_default)
            pending, pending_default = None, None
    return docs


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"no JSON Schema type for {value!r}")


def schema_node(
    path: Path_,
    value: Any,
    docs: dict[Path_, Doc],
    errors: list[str],
    constraints: dict[Path_, dict[str, Any]],
) -> dict[str, Any]:
    """The schema of one value; recurses into objects whose children are documented."""
    node: dict[str, Any] = {"type": _json_type(value)}
    if path in docs:
        node["description"] = docs[path].description
    # An object is structured when anything below it is documented (a child, or only
    # grandchildren as in `monitoring.serviceMonitors.enabled`); otherwise it is a free-form
    # map such as `podAnnotations: {}`.
    structured = isinstance(value, dict) and any(
        len(doc) > len(path) and doc[: len(path)] == path and doc[len(path)] in value
        for doc in docs
    )
    if structured:
        node["properties"] = {}
        for key, child in value.items():
            child_path = (*path, key)
            if not any(doc[: len(child_path)] == child_path for doc in docs):
                errors.append(f"{'.'.join(child_path)} has no `# --` comment")
            node["properties"][key] = schema_node(child_path, child, docs, errors, constraints)
        # A typo such as `watchNamespace:` fails `helm lint/install` instead of being ignored.
        node["additionalProperties"] = False
    else:
        node["default"] = value
    node.update(constraints.get(path, {}))
    return node


def build_schema(
    values: dict[str, Any],
    docs: dict[Path_, Doc],
    constraints: dict[Path_, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The whole values.schema.json document, plus the keys missing a comment."""
    errors: list[str] = []
    root = schema_node((), values, docs, errors, constraints or {})
    # Helm hands every subchart a `global` object; a closed root would refuse it.
    root["properties"]["global"] = {"type": "object", "description": "Helm global values."}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Values", **root}, errors


def _lookup(values: dict[str, Any], path: Path_) -> Any:
    node: Any = values
    for key in path:
        node = node[key]
    return node


def render_table(values: dict[str, Any], docs: dict[Path_, Doc]) -> str:
    """The Markdown values table, one row per documented key, in file order."""
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, doc in docs.items():
        value = _lookup(values, path)
        default = doc.default if doc.default is not None else f"`{json.dumps(value)}`"
        description = doc.description.replace("|", "\\|")
        rows.append(f"| {'.'.join(path)} | {_json_type(value)} | {default} | {description} |")
    return "\n".join(rows) + "\n"


def expected_outputs(chart_dir: Path) -> tuple[dict[Path, str], list[str]]:
    """What values.schema.json and README.md should contain, plus documentation errors."""
    text = (chart_dir / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text) or {}
    docs = parse_docs(text)
    schema, errors = build_schema(values, docs, CONSTRAINTS.get(chart_dir.resolve().name))
    readme_path = chart_dir / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    if TABLE_START not in readme or TABLE_END not in readme:
        errors.append(f"{readme_path} lacks the {TABLE_START} … {TABLE_END} markers")
        new_readme = readme
    else:
        head, rest = readme.split(TABLE_START, 1)
        _, tail = rest.split(TABLE_END, 1)
        new_readme = f"{head}{TABLE_START}\n{render_table(values, docs)}{TABLE_END}{tail}"
    outputs = {
        chart_dir / "values.schema.json": json.dumps(schema, indent=2) + "\n",
        readme_path: new_readme,
    }
    return outputs, errors


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate, or with ``--check`` report stale files and exit 1."""
    parser = argparse.ArgumentParser(description="values.yaml -> values.schema.json + README")
    parser.add_argument("chart", nargs="?", type=Path, default=DEFAULT_CHART)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    args = parser.parse_args(argv)
    outputs, errors = expected_outputs(args.chart)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    stale = [
        path
        for path, text in outputs.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path}; run `make chart-docs`", file=sys.stderr)
        return 1 if stale or errors else 0
    if errors:
        return 1
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
