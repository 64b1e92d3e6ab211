"""The API's settings: its ConfigMap, and the environment of every `journal_api` container.

The API, the worker and the migrations Job run the same program with the same settings
(`journal_api.settings.Settings`, prefix `JOURNAL_API_`), so they share `app_env()`:
non-secret values come from the ConfigMap, secret ones from `secretKeyRef`s, and the
user's extra variables (`spec.api.env`) come last. A test compares these names with the
API's Settings fields.
"""

from __future__ import annotations

from typing import Any

from journal_operator import hashing, naming, spec
from journal_operator.builders import secrets as secrets_mod
from journal_operator.manifests import Manifest

ENV_PREFIX = "JOURNAL_API_"
API_PORT = 8000
CACHE_PORT = 6379
RATE_LIMIT_WINDOW_SECONDS = 60  # spec limits are per minute
# Where an ingress controller's pods live: the private ranges pod networks are drawn from.
INGRESS_TRUSTED_PROXIES = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"


def api_config(p: spec.Platform) -> Manifest:
    """ConfigMap `<platform>-config` with the non-secret `JOURNAL_API_*` settings."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": naming.child_meta(p, naming.Component.API, naming.config_name(p)),
        "data": config_data(p),
    }


def config_data(p: spec.Platform) -> dict[str, str]:
    """The ConfigMap's data: every value a string, as a ConfigMap requires."""
    limits = p.spec.api.rate_limits
    data = {
        "ENVIRONMENT": "production",
        # Inside a pod the API must listen on every interface for the Service to reach it.
        "HOST": "0.0.0.0",  # noqa: S104
        "PORT": str(API_PORT),
        "RATE_LIMIT_WINDOW_SECONDS": str(RATE_LIMIT_WINDOW_SECONDS),
        "RATE_LIMIT_PER_USER": str(limits.per_user_per_minute),
        "RATE_LIMIT_PER_IP": str(limits.per_ip_per_minute),
    }
    if p.spec.api.ingress.enabled:
        # Behind the Ingress every client arrives from the controller's pod: let the
        # cluster's private ranges forward, so the API limits the right-most address
        # outside them, not the controller's (journal_api/proxies.py). A spec.api.env
        # entry of the same name comes last and narrows it.
        data["TRUSTED_PROXIES"] = INGRESS_TRUSTED_PROXIES
    url = inference_url(p)
    if url is not None:
        data["INFERENCE_URL"] = url
    return {ENV_PREFIX + key: value for key, value in sorted(data.items())}


def inference_url(p: spec.Platform) -> str | None:
    """The V2 REST base URL of the model server the API and the worker call.

    The server for task `all` (it answers to the model name `analyzer`; the spec requires
    one). The URL is the Service's port 80, which KServe and the deployment mode both give
    the server's HTTP port.
    """
    for model in p.spec.inference.models:
        if model.task == "all":
            return naming.model_url(p, model.name)
    return None


def app_env(p: spec.Platform) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`(envFrom, env)` for a container running `journal_api`.

    With `spec.cache.mode: disabled` no Redis URL is set: the API then bypasses the cache
    and limits rates per process.
    """
    env_from = [{"configMapRef": {"name": naming.config_name(p)}}]
    env = [
        _from_secret("DATABASE_URL", *_database_ref(p)),
        _from_secret("JWT_KEY", naming.jwt_secret_name(p), secrets_mod.JWT_KEY),
        _from_secret("JWT_KID", naming.jwt_secret_name(p), secrets_mod.JWT_KID_KEY),
        _from_secret("AUDIT_KEY", naming.jwt_secret_name(p), secrets_mod.AUDIT_KEY),
        # Optional: present only while a rotation keeps the previous key valid.
        _from_secret(
            "JWT_PREVIOUS_KEY",
            naming.jwt_secret_name(p),
            secrets_mod.JWT_PREVIOUS_KEY,
            optional=True,
        ),
        _from_secret(
            "JWT_PREVIOUS_KID",
            naming.jwt_secret_name(p),
            secrets_mod.JWT_PREVIOUS_KID_KEY,
            optional=True,
        ),
    ]
    external_cache = p.spec.cache.external
    if p.spec.cache.mode == "managed":
        # The URL carries the generated password: it comes from the Secret, never the
        # ConfigMap.
        env.append(_from_secret("REDIS_URL", naming.cache_secret_name(p), secrets_mod.URI_KEY))
    elif p.spec.cache.mode == "external" and external_cache is not None:
        ref = external_cache.secret_ref
        env.append(_from_secret("REDIS_URL", ref.name, ref.key))
    env.extend({"name": e.name, "value": e.value} for e in p.spec.api.env)
    return env_from, env


def config_hash(p: spec.Platform, secrets: secrets_mod.GeneratedSecrets) -> str:
    """Digest of everything a `journal_api` pod reads at start but cannot see change.

    Environment from a ConfigMap or a Secret is read once, when the container starts. The
    pod templates carry this digest (`naming.SPEC_HASH_ANNOTATION`), so a change to the
    settings or a rotated key rolls the pods, and a change to anything else (replicas,
    another component) does not. A user-managed Secret (external database or cache) is
    not covered: restart the pods after changing it.
    """
    env_from, env = app_env(p)
    return hashing.digest(
        {"config": config_data(p), "env": env, "envFrom": env_from, "secrets": secrets.digest()}
    )


def _database_ref(p: spec.Platform) -> tuple[str, str]:
    external = p.spec.database.external
    if p.spec.database.mode == "external" and external is not None:
        return external.secret_ref.name, external.secret_ref.key
    return naming.database_secret_name(p), secrets_mod.URI_KEY


def _from_secret(setting: str, secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": ENV_PREFIX + setting, "valueFrom": {"secretKeyRef": ref}}
