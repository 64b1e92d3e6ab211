"""The managed Redis: a one-pod Deployment without persistence, and its Service.

Redis holds only the response cache and the rate-limit counters, both safe to lose, so
there is no volume and `Recreate` replaces the pod. It requires the generated password of
Secret `<platform>-redis-auth` (`secrets.cache_secret`), and the NetworkPolicy (`network.py`)
admits only the API and worker pods as defence in depth. Only used with
`spec.cache.mode: managed`.
"""

from __future__ import annotations

from typing import Any

from journal_operator import naming, spec
from journal_operator.builders import config, pods
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

COMPONENT = naming.Component.CACHE


def cache_service(p: spec.Platform) -> Manifest:
    """Service `<platform>-redis` on port 6379."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.child_meta(p, COMPONENT, naming.cache_name(p)),
        "spec": {
            "selector": naming.selector(p, COMPONENT),
            "ports": [
                {
                    "name": "redis",
                    "port": config.CACHE_PORT,
                    "targetPort": "redis",
                    "protocol": "TCP",
                }
            ],
        },
    }


def cache_deployment(p: spec.Platform) -> Manifest:
    """Deployment `<platform>-redis`: one pod, no persistence, LRU eviction at maxMemory."""
    managed = p.spec.cache.managed_or_default
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": naming.child_meta(p, COMPONENT, naming.cache_name(p)),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": naming.selector(p, COMPONENT)},
            "template": {
                "metadata": {"labels": naming.labels(p, COMPONENT)},
                "spec": _pod_spec(p, managed),
            },
        },
    }


def _pod_spec(p: spec.Platform, managed: spec.ManagedCache) -> dict[str, Any]:
    tmp, tmp_mount = pods.tmp_volume()
    command = ["redis-server", "--port", str(config.CACHE_PORT)]
    # A cache: no RDB snapshots, no AOF, evict the least recently used keys when full.
    command += ["--save", "", "--appendonly", "no"]
    command += ["--maxmemory", managed.max_memory, "--maxmemory-policy", "allkeys-lru"]
    # The password comes from the Secret through the environment; Kubernetes expands
    # $(REDIS_PASSWORD) in the arguments, so it is never written in the manifest.
    command += ["--requirepass", "$(REDIS_PASSWORD)"]
    password = {
        "secretKeyRef": {"name": naming.cache_secret_name(p), "key": secrets_mod.PASSWORD_KEY}
    }
    ping = {
        "exec": {"command": ["redis-cli", "-p", str(config.CACHE_PORT), "ping"]},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    container = {
        "name": "redis",
        "image": managed.image,
        "imagePullPolicy": p.spec.images.pull_policy,
        "command": command,
        # REDISCLI_AUTH: redis-cli (the readiness probe) authenticates with it.
        "env": [
            {"name": "REDIS_PASSWORD", "valueFrom": password},
            {"name": "REDISCLI_AUTH", "valueFrom": password},
        ],
        "ports": [{"name": "redis", "containerPort": config.CACHE_PORT}],
        "resources": pods.resources(managed.resources),
        "readinessProbe": ping,
        "livenessProbe": {
            "tcpSocket": {"port": "redis"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "securityContext": pods.container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, tmp_mount],
    }
    return {
        **pods.pod_defaults(p),
        "securityContext": pods.pod_security(uid=pods.DATA_UID),
        "containers": [container],
        "volumes": [{"name": "data", "emptyDir": {}}, tmp],
    }
