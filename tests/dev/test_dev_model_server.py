"""`make dev` (hack/dev.py) runs the model server beside the API and says how to call it.

Aspects: the model server answers ready before the banner is printed, on the port
JOURNAL_INFERENCE_PORT asks for; the banner's copy-paste curl, sent as written, returns the
emotions, sentiment and embedding of its text. One real hack/dev.py run serves the module.
"""

from __future__ import annotations

import itertools
import json
import shlex
import time
from collections.abc import Iterator

import httpx
import pytest
from journal_inference import labels

from tests.dev import devrun

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev() -> Iterator[devrun.DevRun]:
    with devrun.dev_run() as run:
        yield run


def _printed_curl(dev: devrun.DevRun) -> list[str]:
    commands = [line.strip() for line in dev.banner() if "/v2/models/" in line]
    assert len(commands) == 1, dev.banner()
    return shlex.split(commands[0])


def test_model_server_is_ready_on_the_requested_port(dev: devrun.DevRun) -> None:
    url = f"http://127.0.0.1:{dev.inference_port}"
    assert httpx.get(f"{url}/v2/health/ready", timeout=10).status_code == 200
    assert any(line.startswith(f"Model server on {url}") for line in dev.banner()), dev.banner()


def test_printed_curl_returns_emotions_sentiment_and_embedding(dev: devrun.DevRun) -> None:
    args = _printed_curl(dev)
    assert args[:2] == ["curl", "-s"]
    url = args[2]
    headers: dict[str, str] = {}
    for flag, value in itertools.pairwise(args):
        if flag == "-H":
            name, _, header_value = value.partition(":")
            headers[name.strip()] = header_value.strip()
    body = args[args.index("-d") + 1]

    response = httpx.post(url, headers=headers, content=body, timeout=30)

    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    # Emotions: the labels over threshold and one score per label.
    assert outputs["labels"]["datatype"] == "BYTES"
    assert len(outputs["scores"]["data"]) == outputs["scores"]["shape"][1] > 0
    # Sentiment: a label and a polarity.
    assert outputs["label"]["data"][0] in labels.SENTIMENT_ORDER
    assert -1.0 <= outputs["polarity"]["data"][0] <= 1.0
    # The embedding.
    assert len(outputs["embedding"]["data"]) == outputs["embedding"]["shape"][1] > 0
    assert json.loads(body)["inputs"][0]["data"] == [
        "I finally finished the project and I feel proud"
    ]


def test_a_new_entry_is_analysed_within_seconds_and_found_by_meaning(dev: devrun.DevRun) -> None:
    base = f"http://127.0.0.1:{dev.api_port}/api/v1"
    login = httpx.post(
        f"{base}/auth/login",
        json={"email": "demo@example.com", "password": "journal-demo-password-1"},
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = httpx.post(
        f"{base}/entries",
        headers=auth,
        json={
            "title": "A hard morning",
            "content": "My dog passed away this morning and I cannot stop crying.",
        },
    )
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]

    analysis = None
    for _ in range(120):  # the worker polls the outbox; a minute is generous
        analysis = httpx.get(f"{base}/entries/{entry_id}", headers=auth).json()["analysis"]
        if analysis is not None and analysis.get("status") == "done":
            break
        time.sleep(0.5)
    assert analysis is not None, "the entry was never analysed"
    assert analysis["status"] == "done", analysis

    found = httpx.get(
        f"{base}/search", headers=auth, params={"q": "grief over losing a pet", "mode": "semantic"}
    )
    assert found.status_code == 200, found.text
    assert entry_id in [item["entry"]["id"] for item in found.json()["items"]][:3]
