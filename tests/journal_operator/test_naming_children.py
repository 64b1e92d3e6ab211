"""naming: child names, labels, selectors and the owner reference.

- names are `<platform>-<suffix>`, DNS-1123 labels of at most 63 characters, cut with a
  hash suffix (so different long names stay different);
- version slugs are name-safe and distinct for distinct versions;
- labels carry the recommended app.kubernetes.io keys; selectors only the stable ones;
- the owner reference makes the platform the controller and blocks its deletion.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from journal_operator import naming

from tests.journal_operator import factories

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSIONS = st.from_regex(
    r"\Av?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(-[0-9A-Za-z][0-9A-Za-z.-]{0,20})?\Z"
)


def test_child_names() -> None:
    p = factories.platform()
    assert naming.api_name(p) == "demo-api"
    assert naming.worker_name(p) == "demo-worker"
    assert naming.database_name(p) == "demo-postgres"
    assert naming.cache_name(p) == "demo-redis"
    assert naming.config_name(p) == "demo-config"
    assert naming.database_secret_name(p) == "demo-database"
    assert naming.jwt_secret_name(p) == "demo-jwt"
    assert naming.migrations_job_name(p, "1.4.0") == "demo-migrate-1-4-0"
    assert naming.model_name(p, "emotion") == "demo-emotion"
    assert naming.model_service_name(p, "emotion") == "demo-emotion-predictor"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=200))
def test_dns_label_is_valid_and_short(name: str) -> None:
    label = naming.dns_label(name)
    assert len(label) <= naming.MAX_NAME
    assert DNS_LABEL.match(label)


def test_long_names_keep_their_start_and_stay_distinct() -> None:
    a = naming.dns_label("a" * 70 + "-one")
    b = naming.dns_label("a" * 70 + "-two")
    assert a != b
    assert a.startswith("a" * 40)
    assert len(a) == len(b) == naming.MAX_NAME


def test_statefulset_name_leaves_room_for_revision_hash() -> None:
    p = factories.platform(name="p" * 30)
    assert len(naming.database_name(p)) <= naming.MAX_STATEFULSET_NAME


@given(VERSIONS, VERSIONS)
def test_version_slugs_are_names_and_distinct(a: str, b: str) -> None:
    slug = naming.version_slug(a)
    assert DNS_LABEL.match(slug)
    if a != b:
        assert slug != naming.version_slug(b)


def test_labels_are_the_recommended_set() -> None:
    p = factories.platform()
    labels = naming.labels(p, naming.Component.API, version="1.0.0")
    assert labels == {
        "app.kubernetes.io/name": "journal-api",
        "app.kubernetes.io/instance": "demo",
        "app.kubernetes.io/component": "api",
        "app.kubernetes.io/part-of": "journal-platform",
        "app.kubernetes.io/managed-by": "journal-operator",
        "app.kubernetes.io/version": "1.0.0",
    }


def test_selector_is_a_stable_subset_of_labels() -> None:
    p = factories.platform()
    selector = naming.selector(p, naming.Component.WORKER)
    assert naming.labels(p, naming.Component.WORKER, version="9.9.9").items() >= selector.items()
    assert naming.LABEL_VERSION not in selector
    assert naming.selector_string(p, naming.Component.API) == (
        "app.kubernetes.io/component=api,app.kubernetes.io/instance=demo,"
        "app.kubernetes.io/name=journal-api"
    )


def test_selectors_of_different_components_do_not_overlap() -> None:
    p = factories.platform()
    selectors = [naming.selector(p, c) for c in naming.Component]
    for i, a in enumerate(selectors):
        for b in selectors[i + 1 :]:
            assert a != b


def test_owner_reference_makes_platform_the_controller() -> None:
    assert naming.owner_reference(factories.platform()) == {
        "apiVersion": "journalplatform.io/v1alpha1",
        "kind": "JournalPlatform",
        "name": "demo",
        "uid": factories.UID,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_field_manager_is_fixed() -> None:
    assert naming.FIELD_MANAGER == "journal-operator"
