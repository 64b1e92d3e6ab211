"""Start-up and shutdown of a real model server: live before ready, ready only after the
artifact loaded and warmed up, a broken artifact stops the process with the file's name, and
SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import httpx
from journal_inference import artifact

from tests.support.inference import InferenceServer


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path, timeout=1).status_code
    except httpx.TransportError:
        return 0


def test_live_before_ready_and_ready_only_after_load(tmp_path: Path) -> None:
    server = InferenceServer(tmp_path / "server.log")
    server.spawn()
    try:
        seen: list[tuple[int, int]] = []
        deadline = time.monotonic() + 180
        # One kept-alive client and no sleep: the load can take a quarter of a second.
        with httpx.Client(base_url=server.url) as client:
            while time.monotonic() < deadline:
                ready = _status(client, "/v2/health/ready")
                model = _status(client, "/v2/models/analyzer/ready")
                seen.append((ready, model))
                if ready == 200 and model == 200:
                    break
            live = _status(client, "/v2/health/live")
        # The server answered, but not ready, while the artifact was still loading.
        assert any(503 in pair for pair in seen), seen[-5:]
        assert seen[-1] == (200, 200)
        assert live == 200
        log = [
            json.loads(line)
            for line in server.log_path.read_text().splitlines()
            if line.startswith("{")
        ]
        messages = [line["message"] for line in log]
        assert messages.index("model artifact loaded") < messages.index("model server ready")
        ready_line = log[messages.index("model server ready")]
        assert ready_line["seconds_since_start"] > 0
    finally:
        server.stop()


def test_altered_artifact_stops_the_server_naming_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "artifact"
    shutil.copytree(artifact.bundled(), copy)
    with (copy / "tokenizer.json").open("a") as f:
        f.write(" ")
    server = InferenceServer(
        tmp_path / "server.log", env={"JOURNAL_INFERENCE_ARTIFACT_DIR": str(copy)}
    )
    process = server.spawn()
    try:
        assert process.wait(timeout=180) != 0
        assert "tokenizer.json does not match the SHA-256" in server.log_path.read_text()
    finally:
        server.stop()


def test_sigterm_stops_the_server(tmp_path: Path) -> None:
    server = InferenceServer(tmp_path / "server.log")
    server.start()
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
