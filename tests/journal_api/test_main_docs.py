"""The interactive docs and the OpenAPI document are a setting: served by default (for
developers and for generating clients), absent altogether with `docs_enabled=false`."""

from __future__ import annotations

import httpx
import pytest
from journal_api import settings as settings_module

from tests.journal_api.test_security_tokens import serving

DOCS = ["/docs", "/redoc", "/openapi.json"]


@pytest.mark.parametrize("path", DOCS)
async def test_docs_are_served_by_default(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_docs_can_be_turned_off(api_settings: settings_module.Settings) -> None:
    async with serving(api_settings.model_copy(update={"docs_enabled": False})) as client:
        answers = {path: (await client.get(path)).status_code for path in DOCS}
        api = await client.get("/api/v1/users/me")
    assert answers == dict.fromkeys(DOCS, 404)
    assert api.status_code == 401  # the API itself is unaffected
