"""The API's settings as the operator hands them over: names and values.

- every JOURNAL_API_* variable the builders set is a field of journal_api's Settings
  (compared with the API's own class, so a rename on either side fails here);
- the operator sets the settings a cluster needs (database, cache, keys, host, port,
  environment, rate limits), secrets only through secretKeyRefs;
- the ConfigMap follows spec.api.rateLimits and the cache mode;
- the model server URL points at the server for task `all` (else `embedding`).
"""

from __future__ import annotations

from typing import Any

import pytest
from journal_api import proxies
from journal_api.settings import Settings
from journal_operator import naming, spec
from journal_operator.builders import config, plan, secrets

from tests.journal_operator import factories

PREFIX = Settings.model_config.get("env_prefix", "")
# Variables the operator already hands over and the API does not read yet: the model server
# URL waits for the API's inference client (the Inference issue). Settings ignores unknown
# variables meanwhile; drop a name here once it is a field of Settings.
AWAITED_BY_API = frozenset({"JOURNAL_API_INFERENCE_URL"})
SETTING_NAMES = {f"{PREFIX}{name}".upper() for name in Settings.model_fields} | AWAITED_BY_API
SECRET_SETTINGS = {
    "JOURNAL_API_DATABASE_URL",
    "JOURNAL_API_JWT_KEY",
    "JOURNAL_API_JWT_PREVIOUS_KEY",
    "JOURNAL_API_REDIS_URL",  # the managed Redis's URL carries its password
}


def _env_names(container: dict[str, Any], configmap: dict[str, Any]) -> set[str]:
    names = {e["name"] for e in container["env"]}
    if container.get("envFrom"):
        names |= set(configmap["data"])
    return names


def _app_containers(p: spec.Platform) -> list[dict[str, Any]]:
    children = plan.flatten(
        plan.desired_children(
            p, secrets=factories.SECRETS, version="1.0.0", migrate=True, inference_mode="kserve"
        )
    )
    return [
        c
        for m in children
        if m["kind"] in {"Deployment", "Job"}
        for c in m["spec"]["template"]["spec"]["containers"]
        if c["command"][:3] == ["python", "-m", "journal_api"]
    ]


def test_env_prefix_is_the_apis() -> None:
    assert PREFIX == config.ENV_PREFIX


@pytest.mark.parametrize("cache", ["managed", "external"])
def test_every_variable_set_is_an_api_setting(cache: str) -> None:
    fields: dict[str, Any] = {"cache": {"mode": cache}}
    if cache == "external":
        fields["cache"]["external"] = {"secretRef": {"name": "redis", "key": "url"}}
    p = factories.platform(fields)
    configmap = config.api_config(p)
    containers = _app_containers(p)
    assert {c["name"] for c in containers} == {"api", "worker", "migrate"}
    for container in containers:
        assert _env_names(container, configmap) <= SETTING_NAMES


def test_reserved_names_are_api_settings_and_all_set_by_the_operator() -> None:
    # With every optional setting the operator manages turned on (the crisis resources
    # file is set only when a ConfigMap is named).
    p = factories.platform({"api": {"crisisResources": {"configMapName": "crisis-lines"}}})
    set_by_operator = set().union(
        *(_env_names(c, config.api_config(p)) for c in _app_containers(p))
    )
    assert spec.RESERVED_ENV <= SETTING_NAMES
    assert set_by_operator == spec.RESERVED_ENV


def test_secret_settings_come_from_secrets_only() -> None:
    p = factories.platform()
    configmap = config.api_config(p)
    assert not SECRET_SETTINGS & set(configmap["data"])
    env = {e["name"]: e for e in config.app_env(p)[1]}
    for name in SECRET_SETTINGS:
        assert "value" not in env[name]
        assert "secretKeyRef" in env[name]["valueFrom"]
    assert factories.SECRETS.jwt_key not in str(configmap)


def test_configmap_values_are_valid_settings() -> None:
    """The values parse as the API's Settings would read them from the environment."""
    data = config.config_data(factories.platform())
    env = data | {
        "JOURNAL_API_DATABASE_URL": "postgresql://u:p@h:5432/d",
        "JOURNAL_API_JWT_KEY": factories.SECRETS.jwt_key,
        "JOURNAL_API_JWT_KID": "k1",
    }
    fields = {k.removeprefix(PREFIX).lower(): v for k, v in env.items()}
    settings = Settings.model_validate(fields)
    assert settings.environment == "production"
    assert settings.port == config.API_PORT
    assert settings.host == "0.0.0.0"  # noqa: S104 - must listen on the pod IP


def test_rate_limits_follow_spec_per_minute() -> None:
    data = config.config_data(
        factories.platform({"api": {"rateLimits": {"perUserPerMinute": 30, "perIpPerMinute": 90}}})
    )
    assert data["JOURNAL_API_RATE_LIMIT_PER_USER"] == "30"
    assert data["JOURNAL_API_RATE_LIMIT_PER_IP"] == "90"
    assert data["JOURNAL_API_RATE_LIMIT_WINDOW_SECONDS"] == "60"


@pytest.mark.parametrize("enabled", [True, False])
def test_trusted_proxies_are_set_with_an_ingress(enabled: bool) -> None:
    p = factories.platform({"api": {"ingress": {"enabled": enabled}}})
    data = config.config_data(p)
    assert ("JOURNAL_API_TRUSTED_PROXIES" in data) == enabled
    if enabled:
        fields = {"trusted_proxies": data["JOURNAL_API_TRUSTED_PROXIES"]}
        settings = Settings.model_validate(
            fields | {"jwt_key": factories.SECRETS.jwt_key, "environment": "production"}
        )
        trusted = proxies.parse(settings.trusted_proxies)
        # An ingress controller pod's address is trusted to forward; the client is not.
        assert proxies.client_address("10.244.1.7", "203.0.113.9", trusted) == "203.0.113.9"


def test_database_url_points_at_managed_secret_or_users_secret() -> None:
    managed = {e["name"]: e for e in config.app_env(factories.platform())[1]}
    assert managed["JOURNAL_API_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "demo-database",
        "key": "uri",
    }
    external = factories.platform(
        {"database": {"mode": "external", "external": {"secretRef": {"name": "pg", "key": "dsn"}}}}
    )
    env = {e["name"]: e for e in config.app_env(external)[1]}
    assert env["JOURNAL_API_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "pg",
        "key": "dsn",
    }


def test_previous_jwt_key_is_optional() -> None:
    env = {e["name"]: e for e in config.app_env(factories.platform())[1]}
    ref = env["JOURNAL_API_JWT_PREVIOUS_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {
        "name": naming.jwt_secret_name(factories.platform()),
        "key": "previous-key",
        "optional": True,
    }


@pytest.mark.parametrize("mode", ["managed", "disabled", "external"])
def test_redis_url_never_in_configmap_and_from_a_secret_unless_disabled(mode: str) -> None:
    fields: dict[str, Any] = {"mode": mode}
    if mode == "external":
        fields["external"] = {"secretRef": {"name": "redis"}}
    p = factories.platform({"cache": fields})
    assert "JOURNAL_API_REDIS_URL" not in config.config_data(p)
    env = {e["name"]: e for e in config.app_env(p)[1]}
    assert ("JOURNAL_API_REDIS_URL" in env) == (mode != "disabled")
    if mode == "managed":
        assert env["JOURNAL_API_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": naming.cache_secret_name(p),
            "key": "uri",
        }


def test_inference_url_is_the_analyzer_server_by_default() -> None:
    data = config.config_data(factories.platform())
    assert data["JOURNAL_API_INFERENCE_URL"] == "http://demo-analyzer-predictor.journal-test.svc"


def test_inference_url_is_the_all_tasks_server_beside_per_task_ones() -> None:
    models = [{"name": "vectors", "task": "embedding"}, {"name": "everything", "task": "all"}]
    data = config.config_data(factories.platform({"inference": {"models": models}}))
    assert data["JOURNAL_API_INFERENCE_URL"] == "http://demo-everything-predictor.journal-test.svc"


def test_no_inference_url_without_model_servers() -> None:
    data = config.config_data(factories.platform({"inference": {"models": []}}))
    assert "JOURNAL_API_INFERENCE_URL" not in data


def test_inference_url_reaches_api_and_worker() -> None:
    p = factories.platform()
    configmap = config.api_config(p)
    containers = {c["name"]: c for c in _app_containers(p)}
    for name in ("api", "worker"):
        assert "JOURNAL_API_INFERENCE_URL" in _env_names(containers[name], configmap)


def test_user_env_comes_last_and_verbatim() -> None:
    p = factories.platform({"api": {"env": [{"name": "JOURNAL_API_LOG_LEVEL", "value": "DEBUG"}]}})
    assert config.app_env(p)[1][-1] == {"name": "JOURNAL_API_LOG_LEVEL", "value": "DEBUG"}


class TestConfigHash:
    """The pod-template hash: changes with what pods read at start, and only with that."""

    BASE: dict[str, Any] = {"api": {"replicas": 2}}

    def _hash(self, fields: dict[str, Any], secrets: Any = factories.SECRETS) -> str:
        return config.config_hash(factories.platform(fields), secrets)

    def test_stable_for_the_same_input(self) -> None:
        assert self._hash(self.BASE) == self._hash(dict(self.BASE))

    @pytest.mark.parametrize(
        "change",
        [
            {"api": {"rateLimits": {"perUserPerMinute": 5}}},
            {"api": {"env": [{"name": "JOURNAL_API_LOG_LEVEL", "value": "DEBUG"}]}},
            {"cache": {"mode": "disabled"}},
        ],
    )
    def test_changes_with_settings(self, change: dict[str, Any]) -> None:
        assert self._hash(change) != self._hash(self.BASE)

    def test_changes_when_a_key_rotates(self) -> None:
        rotated = secrets.GeneratedSecrets(
            database_password=factories.SECRETS.database_password,
            jwt_key="n" * 48,
            jwt_kid="k2",
            jwt_previous_key=factories.SECRETS.jwt_key,
            jwt_previous_kid="k1",
        )
        assert self._hash(self.BASE, rotated) != self._hash(self.BASE)

    @pytest.mark.parametrize(
        "change",
        [
            {"api": {"replicas": 7}},
            {"worker": {"replicas": 4}},
            {"api": {"autoscaling": {"enabled": True}}},
            {"inference": {"models": [{"name": "analyzer", "task": "all", "maxReplicas": 9}]}},
            {"version": "2.0.0"},
            {"paused": True},
        ],
    )
    def test_unchanged_by_anything_else(self, change: dict[str, Any]) -> None:
        assert self._hash(change) == self._hash(self.BASE)
