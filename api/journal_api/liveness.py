"""The worker's tiny HTTP listener: `GET /healthz` for a liveness probe, `GET /metrics`.

The worker serves no API traffic, so it gets no web framework: one asyncio server that
reads a request line and answers. `/healthz` is 200 while the worker loop keeps turning
(`Worker.alive`) and 503 once it has stalled; a database outage does not fail it (the
loop waits that out by itself, and a restart would not help). Started by `working.serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# Enough for a request line and headers from a probe or a scraper; the rest is ignored.
MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_SECONDS = 5.0


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _answer(path: str, *, alive: Callable[[], bool], metrics: Callable[[], bytes]) -> bytes:
    if path == "/healthz":
        if alive():
            return _response("200 OK", b'{"status":"ok"}', "application/json")
        return _response("503 Service Unavailable", b'{"status":"stalled"}', "application/json")
    if path == "/metrics":
        return _response("200 OK", metrics(), "text/plain; version=0.0.4; charset=utf-8")
    return _response("404 Not Found", b'{"status":"not found"}', "application/json")


async def start(
    *, host: str, port: int, alive: Callable[[], bool], metrics: Callable[[], bytes]
) -> asyncio.Server:
    """Listen on ``host:port``; close the returned server to stop.

    Args:
        host: interface to bind (the image sets 0.0.0.0 so the kubelet can reach it).
        port: TCP port.
        alive: the liveness verdict.
        metrics: renders the Prometheus text format.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_SECONDS)
            parts = line[:MAX_REQUEST_BYTES].decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
            if method not in ("GET", "HEAD"):
                reply = _response("405 Method Not Allowed", b"", "text/plain")
            else:
                reply = _answer(path, alive=alive, metrics=metrics)
            writer.write(reply)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
