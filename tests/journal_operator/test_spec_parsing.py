"""spec.parse: the typed view of a JournalPlatform.

- the examples parse, and the models' defaults equal the CRD's defaults;
- invalid resources raise InvalidSpec naming the field (the same samples the API
  server rejects in tests/crds);
- images resolve from the registry and version; versions order as semver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from journal_operator import spec

from tests.journal_operator import factories, openapi

INVALID_SAMPLES = sorted(openapi.INVALID.glob("*.yaml"))


def _expected_path(sample: Path) -> str:
    for line in sample.read_text().splitlines():
        if line.startswith("# expect-path:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{sample.name} has no '# expect-path:' line")


@pytest.mark.parametrize("name", ["minimal", "full", "cnpg"])
def test_examples_parse(name: str) -> None:
    platform = spec.parse(factories.example(name))
    assert platform.namespace == factories.NAMESPACE
    assert platform.spec.version


@pytest.mark.parametrize("name", ["minimal", "full", "cnpg"])
def test_model_defaults_equal_crd_defaults(name: str) -> None:
    """What the API server stores after defaulting parses to the same spec as the raw
    resource: the pydantic defaults and the CRD defaults agree, field by field."""
    body = factories.example(name)
    defaulted = openapi.apply_defaults(body, openapi.platform_schema())
    from_raw = spec.parse(body).spec.model_dump(by_alias=True, exclude_none=True)
    from_server = spec.parse(defaulted).spec.model_dump(by_alias=True, exclude_none=True)
    assert from_raw == from_server


def test_minimal_defaults_are_documented_values() -> None:
    s = factories.platform().spec
    assert s.api.replicas == 2
    assert s.database.mode == "managed"
    assert s.database.managed_or_default.storage == "10Gi"
    assert s.cache.mode == "managed"
    assert s.inference.mode == "auto"
    assert s.rollout.max_unavailable == 0
    assert s.rollout.progress_deadline_seconds == 600
    assert s.rollout.migration_timeout_seconds == 600
    assert s.deletion_policy == "Retain"
    assert s.paused is False


def test_default_models_are_one_server_for_every_task() -> None:
    (model,) = factories.platform().spec.inference.models
    assert (model.name, model.task) == ("analyzer", "all")
    assert (model.min_replicas, model.max_replicas) == (1, 3)


def test_model_task_defaults_to_all() -> None:
    models = factories.platform({"inference": {"models": [{"name": "nlp"}]}}).spec.inference.models
    assert [(m.name, m.task) for m in models] == [("nlp", "all")]


def test_per_task_servers_parse_beside_the_all_tasks_server() -> None:
    models = spec.parse(factories.example("full")).spec.inference.models
    assert [(m.name, m.task) for m in models] == [("analyzer", "all"), ("embedding", "embedding")]
    assert [m.max_replicas for m in models] == [6, 4]


def test_per_task_servers_without_an_all_tasks_server_are_refused() -> None:
    models = [{"name": "emotion", "task": "emotion"}, {"name": "embedding", "task": "embedding"}]
    with pytest.raises(spec.InvalidSpec) as raised:
        factories.platform({"inference": {"models": models}})
    assert raised.value.path == "spec.inference.models"
    assert "must include a server with task all" in str(raised.value)


def test_unknown_model_task_names_the_field_and_the_choices() -> None:
    with pytest.raises(spec.InvalidSpec) as raised:
        factories.platform({"inference": {"models": [{"name": "x", "task": "bogus"}]}})
    assert raised.value.path == "spec.inference.models[0].task"
    assert str(raised.value) == (
        "spec.inference.models[0].task: "
        "Input should be 'all', 'emotion', 'sentiment' or 'embedding'"
    )


@pytest.mark.parametrize("sample", INVALID_SAMPLES, ids=lambda p: p.stem)
def test_invalid_sample_is_rejected_with_field_path(sample: Path) -> None:
    body = openapi.load_yaml(sample)
    body["metadata"]["namespace"] = factories.NAMESPACE
    with pytest.raises(spec.InvalidSpec) as raised:
        spec.parse(body)
    assert raised.value.path == _expected_path(sample)
    assert str(raised.value).startswith(_expected_path(sample))


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"api": {"replicas": 0}}, "spec.api.replicas"),
        ({"api": {"resources": {"requests": {"cpu": "lots"}}}}, "spec.api.resources.requests.cpu"),
        (
            {"inference": {"models": [{"name": "x", "task": "poetry"}]}},
            "spec.inference.models[0].task",
        ),
        ({"rollout": {"maxSurge": 0, "maxUnavailable": "0%"}}, "spec.rollout"),
        (
            {"database": {"mode": "managed", "external": {"secretRef": {"name": "db"}}}},
            "spec.database",
        ),
        ({"inference": {"models": [{"name": "a", "task": "all"}] * 2}}, "spec.inference"),
        ({"unknownField": True}, "spec.unknownField"),
    ],
)
def test_bad_field_is_reported_by_path(fields: dict[str, Any], path: str) -> None:
    with pytest.raises(spec.InvalidSpec) as raised:
        factories.platform(fields)
    assert path in [p for p, _ in raised.value.errors]


def test_version_error_explains_the_format() -> None:
    with pytest.raises(spec.InvalidSpec, match=r"spec\.version: must be a semantic version"):
        factories.platform({"version": "1.4"})


def test_missing_metadata_is_reported() -> None:
    with pytest.raises(spec.InvalidSpec) as raised:
        spec.parse({"metadata": {"name": "demo"}, "spec": {"version": "1.0.0"}})
    assert raised.value.path == "metadata.namespace"


def test_platform_identity_comes_from_metadata() -> None:
    platform = factories.platform(name="blog")
    assert (platform.name, platform.namespace, platform.uid, platform.generation) == (
        "blog",
        factories.NAMESPACE,
        factories.UID,
        3,
    )


def test_images_default_to_registry_component_and_version() -> None:
    images = factories.platform().spec.images.resolve("2.0.0")
    assert images.api == "ghcr.io/journal-platform/journal-api:2.0.0"
    assert images.inference == "ghcr.io/journal-platform/journal-inference:2.0.0"
    # The worker and the migrations are commands of the API program.
    assert images.worker == images.api
    assert images.migrations == images.api


def test_image_overrides_win() -> None:
    images = factories.platform(
        {"images": {"registry": "r.example.com/x", "migrations": "m:1", "inference": "i:9"}}
    ).spec.images.resolve("2.0.0")
    assert images.api == "r.example.com/x/journal-api:2.0.0"
    assert images.migrations == "m:1"
    assert images.inference == "i:9"


@pytest.mark.parametrize(
    "ordered",
    [
        [
            "0.9.0",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "v2.0.0",
        ],
    ],
)
def test_version_key_orders_as_semver(ordered: list[str]) -> None:
    assert sorted(ordered, key=spec.version_key) == ordered


def test_version_key_refuses_non_versions() -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        spec.version_key("latest")
