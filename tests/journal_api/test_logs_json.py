"""The API process logs one JSON object per line, with the request id, and never the
passwords or tokens that passed through it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from journal_api import settings as settings_module

from tests.journal_api.conftest import TEST_PASSWORD, unique_email
from tests.journal_api.processes import ApiProcess
from tests.support.redis import RedisServer


async def test_logs_are_json_with_request_ids_and_no_secrets(
    api_settings: settings_module.Settings, redis_server: RedisServer, services_dir: Path
) -> None:
    process = ApiProcess(
        services_dir,
        database_url=api_settings.database_url,
        redis_url=redis_server.url,
        env={"log_level": "DEBUG"},
    )
    process.start()
    try:
        async with httpx.AsyncClient(base_url=process.url) as client:
            credentials = {"email": unique_email("logged"), "password": TEST_PASSWORD}
            await client.post("/api/v1/auth/register", json=credentials)
            login = await client.post("/api/v1/auth/login", json=credentials)
            tokens = login.json()
            headers = {
                "Authorization": f"Bearer {tokens['access_token']}",
                "X-Request-ID": "log-probe-1",
            }
            await client.get("/api/v1/users/me", headers=headers)
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
    finally:
        process.stop()
    log = process.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("msg") == "request"]
    probe = [line for line in access if line.get("request_id") == "log-probe-1"]
    assert probe, "no access log line carries the request id"
    assert probe[0]["route"] == "/api/v1/users/me"
    assert probe[0]["status"] == 200
    assert probe[0]["user_id"]
    for secret in (TEST_PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in log
