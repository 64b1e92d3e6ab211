"""The API benchmark: production-style server, real services, a separate load process.

Steps: start PostgreSQL (pgvector) and Redis from the test launchers, migrate, start
uvicorn as production would (uvloop, httptools, 2 workers, warning logs, no reload),
register the bench users through the API, seed with COPY (100k entries for search, a
year of daily entries for insights, a few thousand for reads), then hand a plan to
`bench.loadgen` in its own process and report every scenario against the ceiling: a
bench-only endpoint that returns a same-sized JSON body without touching the database.

Results: `bench/results/api-<timestamp>.{json,md}` and `api-latest.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis as redis_client

from bench import seeding
from tests.support import ports
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CONNECTIONS = 64
WORKERS = 2
PASSWORD = "bench password 42!"  # noqa: S105 - throwaway accounts in a throwaway database
INSIGHTS_TIMEZONE = "America/New_York"
# Aims from the issue: reported, never asserted.
CACHED_RATIO_AIM, READ_P95_AIM_MS, CREATE_P95_AIM_MS = 0.8, 50.0, 100.0
# Served from the per-user cache (a single entry after its first read).
CACHED = ("list entries (cache hit)", "get entry (cache hit)", "writing insights (cache hit)")
# Ratios move by about 0.2 between runs on 2 shared cores: report the median of these.
RUNS = 3


def log(message: str) -> None:
    print(f"[bench api {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclasses.dataclass
class Sizes:
    search_entries: int = 100_000
    read_entries: int = 5_000
    insight_days: int = 365
    scale: float = 1.0  # multiplies every request count

    def count(self, requests: int) -> int:
        return max(CONNECTIONS, int(requests * self.scale))


@contextmanager
def services(
    base: Path, *, postgres_settings: Mapping[str, str] | None = None
) -> Iterator[tuple[PostgresServer, RedisServer]]:
    postgres = PostgresServer(base / "postgres", settings=postgres_settings)
    redis = RedisServer(base / "redis")
    log("starting PostgreSQL and Redis")
    postgres.start()
    redis.start()
    try:
        yield postgres, redis
    finally:
        redis.stop()
        postgres.stop("immediate")


def server_environment(postgres: PostgresServer, redis: RedisServer, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "JOURNAL_API_ENVIRONMENT": "production",
        "JOURNAL_API_DATABASE_URL": postgres.dsn("journal", driver="postgresql+asyncpg"),
        "JOURNAL_API_REDIS_URL": redis.url,
        "JOURNAL_API_JWT_KEY": secrets.token_urlsafe(48),
        "JOURNAL_API_ACCESS_TOKEN_TTL_SECONDS": "7200",
        "JOURNAL_API_RATE_LIMIT_PER_USER": "1000000000",
        "JOURNAL_API_RATE_LIMIT_PER_IP": "1000000000",
        "JOURNAL_API_RATE_LIMIT_AUTH_PER_IP": "1000000000",
        "JOURNAL_API_RATE_LIMIT_AUTH_PER_ACCOUNT": "1000000000",
        "JOURNAL_API_LOG_LEVEL": "WARNING",
        "JOURNAL_API_BENCH_ENDPOINTS": "1",
        "JOURNAL_API_PORT": str(port),
    }


@contextmanager
def api_server(env: dict[str, str], port: int) -> Iterator[None]:
    command = [
        sys.executable, "-m", "uvicorn", "journal_api.__main__:app_from_environment",
        "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(WORKERS), "--loop", "uvloop", "--http", "httptools",
        "--log-level", "warning", "--no-access-log",
        "--no-proxy-headers",  # the API resolves clients itself (JOURNAL_API_TRUSTED_PROXIES)
    ]  # fmt: skip
    log(f"starting uvicorn ({WORKERS} workers, uvloop, httptools) on 127.0.0.1:{port}")
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        ports.wait_for_port(port, timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):
                if client.get("/healthz").status_code == 200:
                    break
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def register(client: httpx.Client, name: str, timezone: str = "UTC") -> tuple[str, dict[str, str]]:
    email = f"{name}@bench.example.com"
    response = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "timezone": timezone}
    )
    response.raise_for_status()  # 202: the same answer for a new and a taken email
    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    tokens.raise_for_status()
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = client.get("/api/v1/users/me", headers=headers)
    me.raise_for_status()
    return me.json()["id"], headers


def progress(label: str) -> Any:
    last = [0.0]

    def report(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 2 or done == total:
            last[0] = time.monotonic()
            log(f"  {label}: {done}/{total}")

    return report


async def seed(dsn: str, users: dict[str, str], sizes: Sizes) -> dict[str, list[str]]:
    """COPY the bench data; returns entry ids per user name."""
    import uuid

    rng = random.Random(seeding.SEED)
    maker = seeding.TextMaker()
    now = dt.datetime.now(dt.UTC)
    connection = await asyncpg.connect(dsn)
    try:
        ids: dict[str, list[str]] = {}
        started = time.monotonic()
        search_ids = await seeding.copy_entries(
            connection,
            maker,
            user_id=uuid.UUID(users["search"]),
            moments=seeding.spread(
                count=sizes.search_entries, start=now - dt.timedelta(days=3650), end=now, rng=rng
            ),
            progress=progress("search user entries"),
        )
        ids["search"] = [str(i) for i in search_ids]
        read_ids = await seeding.copy_entries(
            connection,
            maker,
            user_id=uuid.UUID(users["reader"]),
            moments=seeding.spread(
                count=sizes.read_entries, start=now - dt.timedelta(days=3650), end=now, rng=rng
            ),
            progress=progress("reader entries"),
        )
        ids["reader"] = [str(i) for i in read_ids]
        await seeding.copy_entries(
            connection,
            maker,
            user_id=uuid.UUID(users["insights"]),
            moments=seeding.daily(days=sizes.insight_days, now=now, timezone=INSIGHTS_TIMEZONE),
            timezone=INSIGHTS_TIMEZONE,
        )
        log(f"  copied in {time.monotonic() - started:.1f}s; VACUUM ANALYZE")
        await connection.execute("VACUUM ANALYZE entries")
        await connection.execute("VACUUM ANALYZE search_terms")
        return ids
    finally:
        await connection.close()


def search_queries(maker: seeding.TextMaker) -> list[str]:
    """A mix: a rank-500 word (~1.3 % of entries), two words, a misspelt rank-1000 word."""
    words = maker.words
    typo = words[1000][:2] + words[1000][3:] if len(words[1000]) > 4 else words[1000] + "x"
    return [
        words[500],
        f"{words[150]} {words[400]}",
        typo,
        words[2000],
        f"{words[700]} {words[60]}",
    ]


def plan(
    port: int,
    *,
    sizes: Sizes,
    headers: dict[str, dict[str, str]],
    writers: list[dict[str, str]],
    ids: dict[str, list[str]],
    ceiling_size: int,
) -> dict[str, Any]:
    rng = random.Random(7)
    reader, writer = headers["reader"], headers["writer"]
    # Hits: 500 entries, each read once in the warm-up; misses: entries never read before.
    shuffled = rng.sample(ids["reader"], len(ids["reader"]))
    get_paths = [f"/api/v1/entries/{i}" for i in shuffled[:500]]
    get_miss_paths = [f"/api/v1/entries/{i}" for i in shuffled[500:]]
    # A different `to` date per request: a new cache key, hence a miss, every time.
    today = dt.date.today()
    miss_paths = [
        f"/api/v1/entries?to={(today - dt.timedelta(days=n)).isoformat()}" for n in range(3650)
    ]
    rng.shuffle(miss_paths)
    queries = search_queries(seeding.TextMaker())
    create_bodies = [
        {"content": " ".join(seeding.TextMaker(seed=n).sample(60)), "tags": ["bench"], "mood": 1}
        for n in range(50)
    ]

    def scenario(name: str, paths: list[str], requests: int, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "method": "GET",
            "paths": paths,
            "requests": sizes.count(requests),
            "warmup": CONNECTIONS * 2,
            "connections": CONNECTIONS,
            **extra,
        }

    return {
        "host": "127.0.0.1",
        "port": port,
        "scenarios": [
            scenario("ceiling", [f"/api/v1/bench/ceiling?size={ceiling_size}"], 6000),
            scenario("list entries (cache hit)", ["/api/v1/entries"], 5000, headers=reader),
            scenario("list entries (cache miss)", miss_paths, 2500, headers=reader, warmup=0),
            scenario(
                "get entry (cache hit)",
                get_paths,
                4000,
                headers=reader,
                warmup=len(get_paths) + CONNECTIONS,
            ),
            scenario(
                "get entry (cache miss)",
                get_miss_paths,
                min(2000, len(get_miss_paths)),
                headers=reader,
                warmup=0,
            ),
            scenario(
                f"full-text search ({sizes.search_entries // 1000}k entries)",
                [f"/api/v1/search?q={q.replace(' ', '+')}&limit=10" for q in queries],
                600,
                headers=headers["search"],
            ),
            scenario(
                "writing insights (cache hit)",
                ["/api/v1/insights/writing?days=365"],
                5000,
                headers=headers["insights"],
            ),
            scenario(
                "writing insights (cache miss)",
                [f"/api/v1/insights/writing?days={d}" for d in range(366, 3651)],
                2000,
                headers=headers["insights"],
                warmup=0,
            ),
            {
                **scenario("create entry", ["/api/v1/entries"] * len(create_bodies), 2000),
                "method": "POST",
                "bodies": create_bodies,
                "headers": writers,
                "status": 201,
            },
            {
                **scenario(
                    "create entry (one user, 64 at once)",
                    ["/api/v1/entries"] * len(create_bodies),
                    1000,
                ),
                "method": "POST",
                "bodies": create_bodies,
                "headers": writer,
                "status": 201,
            },
        ],
    }


def flush(url: str) -> None:
    """Empty the cache (and the rate-limit counters) so the next run starts cold."""
    with redis_client.Redis.from_url(url) as client:
        client.flushall()


def run_load(load_plan: dict[str, Any]) -> list[dict[str, Any]]:
    log("running the load generator in its own process")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(load_plan),
        capture_output=False,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def aims_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The aims that apply to one scenario, each with its value and whether it is met."""
    name = result["name"]
    aims: list[dict[str, Any]] = []
    if name == "ceiling":
        return aims
    if name in CACHED:
        ratio = result["ratio_to_ceiling"]
        aims.append({"aim": f"ratio >= {CACHED_RATIO_AIM}", "value": ratio,
                     "met": ratio >= CACHED_RATIO_AIM})  # fmt: skip
    if name.startswith("create entry ("):
        return aims  # one user's writes queue on its quota lock, by design: shown, no aim
    limit = CREATE_P95_AIM_MS if name == "create entry" else READ_P95_AIM_MS
    aims.append({"aim": f"p95 < {limit:.0f} ms", "value": result["p95_ms"],
                 "met": result["p95_ms"] < limit})  # fmt: skip
    return aims


def median_of(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per scenario, the run with the median ratio to that run's own ceiling, and every
    run's ratio and p95 beside it."""
    for results in runs:
        ceiling = next(r for r in results if r["name"] == "ceiling")
        for result in results:
            result["ratio_to_ceiling"] = round(result["rps"] / ceiling["rps"], 3)
    merged = []
    for index, first in enumerate(runs[0]):
        samples = sorted((run[index] for run in runs), key=lambda r: r["ratio_to_ceiling"])
        chosen = dict(samples[len(samples) // 2])
        assert chosen["name"] == first["name"]
        chosen["runs"] = [
            {"ratio_to_ceiling": run[index]["ratio_to_ceiling"], "p95_ms": run[index]["p95_ms"]}
            for run in runs
        ]
        chosen["aims"] = aims_of(chosen)
        merged.append(chosen)
    return merged


def report(runs: list[list[dict[str, Any]]], *, sizes: Sizes) -> dict[str, Any]:
    results = median_of(runs)
    aims = [{"scenario": r["name"], **aim} for r in results for aim in r["aims"]]
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "setup": {
            "connections": CONNECTIONS,
            "workers": WORKERS,
            "server": "uvicorn --loop uvloop --http httptools",
            "search_entries": sizes.search_entries,
            "read_user_entries": sizes.read_entries,
            "insight_days": sizes.insight_days,
            "runs": len(runs),
        },
        "scenarios": results,
        "aims": aims,
        "aims_met": sum(a["met"] for a in aims),
        "aims_total": len(aims),
    }


def markdown(document: dict[str, Any]) -> str:
    setup = document["setup"]
    lines = [
        f"# API benchmark — {document['timestamp']}",
        "",
        f"{setup['connections']} connections, {setup['server']}, {setup['workers']} workers, "
        f"{document['machine']['cpus']} CPUs (load generator on the same machine). "
        f"Search over {setup['search_entries']:,} entries; insights over "
        f"{setup['insight_days']} daily entries.",
        "",
        f"Each scenario: the median of {setup['runs']} runs by its ratio to the same run's "
        "ceiling (Redis flushed between runs, so each starts cold); every run's ratio is listed.",
        "",
        "| scenario | requests | req/s | vs ceiling | runs | p50 ms | p95 ms | p99 ms | aims |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in document["scenarios"]:
        runs = " / ".join(f"{run['ratio_to_ceiling']:.2f}" for run in r["runs"])
        aims = "; ".join(_verdict(a) for a in r["aims"]) or (
            "(the baseline)" if r["name"] == "ceiling" else "(shown, no aim)"
        )
        lines.append(
            f"| {r['name']} | {r['requests']} | {r['rps']:.0f} | {r['ratio_to_ceiling']:.2f} "
            f"| {runs} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {aims} |"
        )
    lines += [
        "",
        f"Aims (reported, not asserted): {document['aims_met']} of {document['aims_total']} "
        f"met. Cached reads (list, single entry, writing insights on a hit) >= "
        f"{CACHED_RATIO_AIM} of the ceiling; every read p95 < {READ_P95_AIM_MS:.0f} ms; "
        f"create p95 < {CREATE_P95_AIM_MS:.0f} ms ({CONNECTIONS} users writing at once; one "
        "user's own writes queue on its quota lock, shown without an aim).",
    ]
    return "\n".join(lines) + "\n"


def _verdict(aim: dict[str, Any]) -> str:
    """`p95 < 50 ms: NOT met (132.8, 2.66x the aim)`: by how much an aim is missed."""
    if aim["met"]:
        return f"{aim['aim']}: met ({aim['value']:g})"
    bound = float(aim["aim"].split()[2])
    factor = aim["value"] / bound if aim["aim"].split()[1] == "<" else bound / aim["value"]
    return f"{aim['aim']}: NOT met ({aim['value']:g}, {factor:.2f}x off)"


def write_results(document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = markdown(document)
    for name in (f"api-{stamp}", "api-latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(text)
    return RESULTS / f"api-{stamp}.md"


def run(sizes: Sizes) -> None:
    base = Path(tempfile.mkdtemp(prefix="journal-bench-"))
    base.chmod(0o711)  # the unprivileged PostgreSQL user must traverse it
    try:
        with services(base) as (postgres, redis):
            postgres.psql('CREATE DATABASE "journal"')
            port = ports.free_port()
            env = server_environment(postgres, redis, port)
            log("migrating")
            subprocess.run(
                [sys.executable, "-m", "journal_api", "migrate"], env=env, check=True, cwd=ROOT
            )
            with (
                api_server(env, port),
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
            ):
                users, headers = {}, {}
                for name, zone in (
                    ("search", "UTC"),
                    ("reader", "UTC"),
                    ("writer", "UTC"),
                    ("insights", INSIGHTS_TIMEZONE),
                ):
                    users[name], headers[name] = register(client, f"bench-{name}", zone)
                # Creates spread over as many users as connections: one user's writes are
                # serialised by design (its quota row is locked), which the one-user
                # scenario shows.
                log(f"registering {CONNECTIONS} writers")
                writers = [register(client, f"bench-writer-{n}")[1] for n in range(CONNECTIONS)]
                total = sizes.search_entries + sizes.read_entries + sizes.insight_days
                log(f"seeding {total:,} entries with COPY")
                ids = asyncio.run(seed(postgres.dsn("journal"), users, sizes))
                page = client.get("/api/v1/entries", headers=headers["reader"])
                page.raise_for_status()
                load_plan = plan(
                    port,
                    sizes=sizes,
                    headers=headers,
                    writers=writers,
                    ids=ids,
                    ceiling_size=len(page.content),
                )
                runs = []
                for number in range(1, RUNS + 1):
                    log(f"run {number} of {RUNS}")
                    flush(redis.url)
                    runs.append(run_load(load_plan))
        document = report(runs, sizes=sizes)
        path = write_results(document)
        print()
        print(markdown(document))
        log(f"results written to {path} and {RESULTS / 'api-latest.md'}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench api")
    parser.add_argument(
        "--quick", action="store_true", help="10k search entries, 1/5 of the requests"
    )
    args = parser.parse_args(argv)
    sizes = Sizes(search_entries=10_000, scale=0.2) if args.quick else Sizes()
    run(sizes)


if __name__ == "__main__":
    main()
