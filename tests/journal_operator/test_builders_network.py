"""NetworkPolicies: who may talk to whom.

- the database admits the API, the worker and the migrations Job on 5432, nothing else;
- the cache and the model servers (HTTP and gRPC) admit the API and the worker;
- the API admits anyone on its port; egress is never restricted;
- policies exist only for the services the platform runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from journal_operator import naming
from journal_operator.builders import network

from tests.journal_operator import factories


def _policies(fields: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in network.network_policies(factories.platform(fields))}


def _allowed_components(policy: dict[str, Any]) -> set[str] | None:
    (rule,) = policy["spec"]["ingress"]
    if "from" not in rule:
        return None
    (peer,) = rule["from"]
    (expression,) = peer["podSelector"]["matchExpressions"]
    assert expression["key"] == naming.LABEL_COMPONENT
    assert peer["podSelector"]["matchLabels"][naming.LABEL_INSTANCE] == "demo"
    return set(expression["values"])


def _ports(policy: dict[str, Any]) -> tuple[int, ...]:
    return tuple(port["port"] for port in policy["spec"]["ingress"][0]["ports"])


@pytest.mark.parametrize(
    ("name", "ports", "clients"),
    [
        ("demo-database", (5432,), {"api", "worker", "migrations"}),
        ("demo-cache", (6379,), {"api", "worker"}),
        ("demo-model", (8080, 8081), {"api", "worker"}),
        ("demo-api", (8000,), None),
    ],
)
def test_policy_admits_only_clients(
    name: str, ports: tuple[int, ...], clients: set[str] | None
) -> None:
    policy = _policies()[name]
    assert _ports(policy) == ports
    assert _allowed_components(policy) == clients
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_policies_select_the_pods_they_guard() -> None:
    p = factories.platform()
    policies = _policies()
    assert policies["demo-database"]["spec"]["podSelector"]["matchLabels"] == naming.selector(
        p, naming.Component.DATABASE
    )
    assert policies["demo-model"]["spec"]["podSelector"]["matchLabels"] == {
        naming.LABEL_INSTANCE: "demo",
        naming.LABEL_COMPONENT: "model",
    }


def test_no_policies_for_services_the_platform_does_not_run() -> None:
    policies = _policies(
        {
            "database": {"mode": "external", "external": {"secretRef": {"name": "pg"}}},
            "cache": {"mode": "disabled"},
            "inference": {"models": []},
        }
    )
    assert set(policies) == {"demo-api"}
