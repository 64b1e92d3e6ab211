"""The API server refuses invalid JournalPlatforms with a message naming the field.

One test per rule: every sample in tests/crds/invalid/ (mutual exclusion, min above max,
bad enum, bad semver, reserved env, TLS without host, external cache without Secret, a cnpg
block beside another mode), plus the rules that need a previous object: storage class and
database mode are immutable, storage only grows, and the managed image keeps its PostgreSQL
major version. Creations are dry runs, so nothing is left behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.crds import kubectl
from tests.journal_operator import openapi
from tests.support.cluster import LocalCluster

pytestmark = pytest.mark.cluster

INVALID_SAMPLES = sorted(openapi.INVALID.glob("*.yaml"))


def _expectations(sample: Path) -> tuple[str, str]:
    found = {}
    for line in sample.read_text().splitlines():
        for key in ("expect-path", "expect-message"):
            if line.startswith(f"# {key}:"):
                found[key] = line.split(":", 1)[1].strip()
    return found["expect-path"], found["expect-message"]


@pytest.fixture(scope="module")
def namespace(crd_installed: LocalCluster) -> Iterator[str]:
    name = kubectl.create_namespace(crd_installed, "crd-validation")
    yield name
    kubectl.delete_namespace(crd_installed, name)


def _platform(name: str, spec_yaml: str) -> str:
    body = "\n".join(f"  {line}" for line in spec_yaml.strip().splitlines())
    return (
        "apiVersion: journalplatform.io/v1alpha1\nkind: JournalPlatform\n"
        f"metadata: {{name: {name}}}\nspec:\n{body}\n"
    )


@pytest.mark.parametrize("sample", INVALID_SAMPLES, ids=lambda p: p.stem)
def test_invalid_sample_is_rejected_naming_the_field(
    crd_installed: LocalCluster, namespace: str, sample: Path
) -> None:
    path, message = _expectations(sample)
    result = kubectl.apply(crd_installed, namespace, sample, dry_run=True)
    assert result.returncode != 0
    # The server may name a field below the sample's path (a rule's fieldPath).
    assert re.search(rf"{re.escape(path)}[.:\[]", result.stderr), result.stderr
    assert message in result.stderr


def test_valid_platform_passes_the_same_dry_run(
    crd_installed: LocalCluster, namespace: str
) -> None:
    """The samples fail for their rule, not because dry runs fail."""
    result = kubectl.apply(crd_installed, namespace, openapi.EXAMPLES / "full.yaml", dry_run=True)
    assert result.returncode == 0, result.stderr


def test_name_longer_than_30_characters_is_rejected(
    crd_installed: LocalCluster, namespace: str
) -> None:
    result = kubectl.apply(
        crd_installed, namespace, _platform("p" * 31, "version: 1.0.0"), dry_run=True
    )
    assert "metadata.name must be at most 30 characters" in result.stderr


def test_duplicate_model_names_are_rejected(crd_installed: LocalCluster, namespace: str) -> None:
    document = _platform(
        "dup",
        """
version: 1.0.0
inference:
  models: [{name: a, task: emotion}, {name: a, task: sentiment}]
""",
    )
    result = kubectl.apply(crd_installed, namespace, document, dry_run=True)
    assert result.returncode != 0
    assert "spec.inference.models" in result.stderr
    assert 'duplicate entries for key [name="a"]' in result.stderr


def test_requests_above_limits_are_rejected(crd_installed: LocalCluster, namespace: str) -> None:
    document = _platform(
        "res",
        """
version: 1.0.0
api:
  resources: {requests: {cpu: 2}, limits: {cpu: 500m}}
""",
    )
    result = kubectl.apply(crd_installed, namespace, document, dry_run=True)
    assert "spec.api.resources.requests.cpu" in result.stderr
    assert "requests.cpu must not exceed limits.cpu" in result.stderr


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            "database: {managed: {storageClassName: fast}}",
            "spec.database.managed",
            "spec.database.managed.storageClassName is immutable",
        ),
        (
            "database: {managed: {storageClassName: standard, storage: 5Gi}}",
            "spec.database.managed",
            "spec.database.managed.storage can only grow",
        ),
        (
            "database: {managed: {storageClassName: standard,"
            " image: docker.io/pgvector/pgvector:0.8.0-pg18}}",
            "spec.database.managed",
            "cannot change the PostgreSQL major version",
        ),
        (
            "database: {managed: {storageClassName: standard, image: postgres:16.4}}",
            "spec.database.managed",
            "spec.database.mode cnpg",
        ),
    ],
)
def test_data_volume_settings_are_immutable(
    crd_installed: LocalCluster, namespace: str, change: str, path: str, message: str
) -> None:
    name = "immutable"
    created = kubectl.apply(
        crd_installed,
        namespace,
        _platform(name, "version: 1.0.0\ndatabase: {managed: {storageClassName: standard}}"),
    )
    assert created.returncode == 0, created.stderr
    result = kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        _merge_patch(change),
        check=False,
    )
    assert result.returncode != 0
    assert f"{path}:" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "change",
    [
        "database: {managed: {storageClassName: standard, storage: 20Gi}}",
        "database: {managed: {storageClassName: standard,"
        " image: docker.io/pgvector/pgvector:0.8.1-pg17}}",
        "database: {managed: {storageClassName: standard, image: mirror.example.com:5000/pg:17.6}}",
    ],
    ids=["storage-grows", "pgvector-minor", "same-major-other-registry"],
)
def test_storage_growth_and_minor_image_changes_are_accepted(
    crd_installed: LocalCluster, namespace: str, change: str
) -> None:
    name = "grows"
    created = kubectl.apply(
        crd_installed,
        namespace,
        _platform(name, "version: 1.0.0\ndatabase: {managed: {storageClassName: standard}}"),
    )
    assert created.returncode == 0, created.stderr
    result = kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        name,
        "-n",
        namespace,
        "--type=merge",
        "--dry-run=server",
        "-p",
        _merge_patch(change),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_storage_class_cannot_be_added_later(crd_installed: LocalCluster, namespace: str) -> None:
    created = kubectl.apply(crd_installed, namespace, _platform("no-class", "version: 1.0.0"))
    assert created.returncode == 0, created.stderr
    result = kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        "no-class",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"database": {"managed": {"storageClassName": "fast"}}}}',
        check=False,
    )
    assert "spec.database.managed.storageClassName is immutable" in result.stderr


def test_database_mode_is_immutable(crd_installed: LocalCluster, namespace: str) -> None:
    created = kubectl.apply(crd_installed, namespace, _platform("mode", "version: 1.0.0"))
    assert created.returncode == 0, created.stderr
    result = kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        "mode",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"database": {"mode": "external", "managed": null,'
        ' "external": {"secretRef": {"name": "pg"}}}}}',
        check=False,
    )
    assert "spec.database.mode is immutable" in result.stderr


def test_other_fields_stay_editable(crd_installed: LocalCluster, namespace: str) -> None:
    created = kubectl.apply(crd_installed, namespace, _platform("editable", "version: 1.0.0"))
    assert created.returncode == 0, created.stderr
    kubectl.run(
        crd_installed,
        "patch",
        "journalplatform",
        "editable",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec": {"version": "1.1.0", "cache": {"mode": "disabled"}, "api": {"replicas": 4}}}',
    )
    assert kubectl.get(crd_installed, namespace, "editable")["spec"]["version"] == "1.1.0"


def _merge_patch(change: str) -> str:
    return json.dumps({"spec": yaml.safe_load(change)})
