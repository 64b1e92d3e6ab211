"""An oversized body gets its 413 on a real uvicorn server (either HTTP implementation),
and the client reads it:
no `Connection reset by peer` while it is still sending, whether it announced the size
(`Content-Length`) or streamed the body (chunked), and however fast it sends.

Raw sockets, because what matters is what a client on the wire sees: the whole body
is written at once, and only then is the answer read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from journal_api import main
from journal_api import settings as settings_module

from tests.support import ports

LIMIT = 1024 * 1024
# Sixteen megabytes sent at once: more than the kernel buffers between the two hold, so
# the server has not read it all when it answers.
BODY = b'{"content": "' + b"x" * (16 * 1024 * 1024) + b'"}'
ATTEMPTS = 5
DRAIN_SECONDS = 2.0


@dataclasses.dataclass
class Server:
    port: int


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(
    request: pytest.FixtureRequest, api_settings: settings_module.Settings
) -> Iterator[Server]:
    """The app under uvicorn with either HTTP implementation (`auto` picks httptools when
    it is installed, h11 where it is not), in a thread with its own event loop."""
    port = ports.free_port()
    settings = api_settings.model_copy(
        update={"max_body_bytes": LIMIT, "body_drain_seconds": DRAIN_SECONDS}
    )
    config = uvicorn.Config(
        main.create_app(settings),
        host="127.0.0.1",
        port=port,
        http=request.param,
        log_config=None,
        lifespan="on",
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    try:
        ports.wait_for_port(port, timeout=60)
        yield Server(port)
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=15)


def _head(port: int, *, chunked: bool, close: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(BODY)}"
    connection = "Connection: close\r\n" if close else ""
    return (
        f"POST /api/v1/entries HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{connection}"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def _chunked(body: bytes, size: int = 256 * 1024) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in
             range(0, len(body), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"


def _send_all_then_read(port: int, *, chunked: bool, close: bool) -> bytes:
    """Send the request in one go, then read the answer until the server closes or the
    answer's body is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        request = _head(port, chunked=chunked, close=close)
        connection.sendall(request + (_chunked(BODY) if chunked else BODY))
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                return answer
            answer += data
            head, sep, rest = answer.partition(b"\r\n\r\n")
            if sep:
                lengths = [
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if lengths and len(rest) >= lengths[0]:
                    return answer


@pytest.mark.slow
@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_body_gets_its_413_without_a_reset(
    server: Server, chunked: bool, close: bool
) -> None:
    for _ in range(ATTEMPTS):
        try:
            answer = await asyncio.to_thread(
                _send_all_then_read, server.port, chunked=chunked, close=close
            )
        except ConnectionError as exc:
            pytest.fail(f"the client saw {exc!r} instead of a 413")
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
        problem = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert problem["status"] == 413
        assert str(LIMIT) in problem["detail"]


@pytest.mark.slow
async def test_a_client_that_stops_sending_still_gets_its_413(server: Server) -> None:
    """The drain is bounded in time: a stalled sender does not hold the request open."""

    def stall() -> tuple[bytes, float]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
            started = time.monotonic()
            connection.sendall(_head(server.port, chunked=False, close=False) + BODY[:1000])
            return connection.recv(65536), time.monotonic() - started

    answer, waited = await asyncio.to_thread(stall)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert waited < DRAIN_SECONDS + 5
