"""NetworkPolicies: only the API and the worker reach the database, cache and models.

Ingress only (egress stays open: DNS, external databases). Each policy selects one
component's pods and admits the listed components of the same platform on the listed
ports (a model server listens on HTTP and gRPC); the migrations Job is admitted to the
database as well. The API itself is open on its port, so that a namespace with a
default-deny policy still reaches it.
"""

from __future__ import annotations

from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import config, inference
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

CLIENTS = (naming.Component.API, naming.Component.WORKER)


def network_policies(p: spec.Platform) -> list[Manifest]:
    """The platform's NetworkPolicies, one per component that listens."""
    policies = []
    if p.spec.database.mode == "managed":
        policies.append(
            _policy(
                p,
                naming.Component.DATABASE,
                ports=(secrets_mod.DATABASE_PORT,),
                clients=(*CLIENTS, naming.Component.MIGRATIONS),
            )
        )
    if p.spec.cache.mode == "managed":
        policies.append(
            _policy(p, naming.Component.CACHE, ports=(config.CACHE_PORT,), clients=CLIENTS)
        )
    if p.spec.inference.models:
        policies.append(
            _policy(
                p,
                naming.Component.MODEL,
                ports=(inference.MODEL_PORT, inference.GRPC_PORT),
                clients=CLIENTS,
            )
        )
    policies.append(_policy(p, naming.Component.API, ports=(config.API_PORT,), clients=None))
    return policies


def _policy(
    p: spec.Platform,
    component: naming.Component,
    *,
    ports: tuple[int, ...],
    clients: tuple[naming.Component, ...] | None,  # None: from anywhere
) -> Manifest:
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": port} for port in ports]}
    if clients is not None:
        rule["from"] = [
            {
                "podSelector": {
                    # Pods of this platform only, not another app's that shares the instance.
                    "matchLabels": naming.platform_selector(p),
                    "matchExpressions": [
                        {
                            "key": naming.LABEL_COMPONENT,
                            "operator": "In",
                            "values": [str(c) for c in clients],
                        }
                    ],
                }
            }
        ]
    # Models: every model server of the platform; others: the component's own selector.
    target = (
        {naming.LABEL_INSTANCE: p.name, naming.LABEL_COMPONENT: str(component)}
        if component is naming.Component.MODEL
        else naming.selector(p, component)
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": naming.child_meta(p, component, naming.network_policy_name(p, component)),
        "spec": {
            "podSelector": {"matchLabels": target},
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        },
    }
