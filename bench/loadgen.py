"""The load generator: a separate process that drives the API over loopback.

`python -m bench.loadgen < plan.json > results.json`. The plan names the host, the
port and a list of scenarios (method, a rotation of paths and bodies, headers or a
rotation of them, request count, connection count). Each scenario opens its
connections (HTTP/1.1 keep-alive, one request in flight per connection, a closed loop),
sends a warm-up, then exactly
`requests` timed requests, and reports requests/s and latency percentiles. Progress
goes to stderr.

A minimal HTTP/1.1 client on asyncio streams (uvloop) is used instead of an HTTP
library: on a 2-core machine shared with the server, the client's own CPU cost must be
as small as possible, or it caps the numbers it measures.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

import uvloop


class HttpError(Exception):
    """The server answered with an unexpected status or a malformed response."""


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None:
            raise HttpError(f"no content-length in response ({status})")
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def build_request(
    *, method: str, path: str, host: str, headers: dict[str, str], body: Any | None
) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def run_scenario(host: str, port: int, scenario: dict[str, Any]) -> dict[str, Any]:
    """Send ``scenario['requests']`` timed requests over ``scenario['connections']``."""
    # `headers`: one set for every request, or a list rotated with the paths (requests of
    # many users).
    headers = scenario.get("headers", {})
    rotation = headers if isinstance(headers, list) else [headers]
    count = max(len(scenario["paths"]), len(rotation))
    paths = scenario["paths"]
    bodies = scenario.get("bodies") or [None] * len(paths)
    requests = [
        build_request(
            method=scenario["method"],
            path=paths[n % len(paths)],
            host=f"{host}:{port}",
            headers=rotation[n % len(rotation)],
            body=bodies[n % len(bodies)],
        )
        for n in range(count)
    ]
    expected = scenario.get("status", 200)
    connections = [await Connection.open(host, port) for _ in range(scenario["connections"])]
    counter = iter(range(10**12))
    latencies: list[float] = []
    sizes: list[int] = []

    async def worker(connection: Connection, budget: int, record: bool) -> None:
        for _ in range(budget):
            raw = requests[next(counter) % len(requests)]
            started = time.perf_counter()
            status, body = await connection.request(raw)
            elapsed = time.perf_counter() - started
            if status != expected:
                raise HttpError(f"{scenario['name']}: HTTP {status}: {body[:300]!r}")
            if record:
                latencies.append(elapsed)
                sizes.append(len(body))

    async def phase(total: int, record: bool) -> float:
        share, extra = divmod(total, len(connections))
        started = time.perf_counter()
        await asyncio.gather(
            *(
                worker(connection, share + (1 if index < extra else 0), record)
                for index, connection in enumerate(connections)
            )
        )
        return time.perf_counter() - started

    try:
        await phase(scenario.get("warmup", 0), record=False)
        wall = await phase(scenario["requests"], record=True)
    finally:
        for connection in connections:
            connection.close()
    latencies.sort()
    return {
        "name": scenario["name"],
        "requests": len(latencies),
        "connections": len(connections),
        "seconds": round(wall, 3),
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "body_bytes": round(statistics.fmean(sizes)),
    }


async def run_plan(plan: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for scenario in plan["scenarios"]:
        print(f"  load: {scenario['name']} ({scenario['requests']} requests)…", file=sys.stderr)
        result = await run_scenario(plan["host"], plan["port"], scenario)
        print(
            f"  load: {result['name']}: {result['rps']} req/s, p95 {result['p95_ms']} ms",
            file=sys.stderr,
        )
        results.append(result)
    return results


def main() -> None:
    plan = json.load(sys.stdin)
    results = uvloop.run(run_plan(plan))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
