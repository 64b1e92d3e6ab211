"""Every Kubernetes API call has a time limit: a hung connection fails the call, never the lock.

Aspects under test:
- against a real TCP server that accepts connections and never answers (what a half-dead
  API server or load balancer looks like), a read fails with ``ApiError`` within the
  client's request timeout instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml
from journal_operator.k8s import apply as k8s
from journal_operator.k8s import client as k8s_client


async def test_a_call_to_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the connection open, answer nothing
        accepted.set()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    client = await k8s_client.connect(str(kubeconfig), request_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(k8s.ApiError) as raised:
            await asyncio.wait_for(
                k8s.get(client, api_version="v1", kind="Secret", namespace="ns", name="x"),
                timeout=10,
            )
        elapsed = time.monotonic() - started
    finally:
        await k8s_client.close(client)
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert accepted.is_set(), "the request never reached the server"
    assert raised.value.reason == "Timeout"
    assert elapsed < 5
