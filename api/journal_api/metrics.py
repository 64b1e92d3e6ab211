"""Prometheus collectors, defined once per app on its own registry.

A per-app `CollectorRegistry` lets several apps live in one test process without
"duplicated timeseries" errors. `create_app` builds one `Metrics` and stores it on
`app.state.metrics`; middleware, the cache client and the rate limiter record into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "journal_api_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "journal_api_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.db_pool_checked_out = Gauge(
            "journal_api_db_pool_checked_out", "Connections in use.", registry=r
        )
        self.db_pool_size = Gauge(
            "journal_api_db_pool_size", "Connections the pool keeps open.", registry=r
        )
        self.db_pool_overflow = Gauge(
            "journal_api_db_pool_overflow", "Connections opened beyond the pool size.", registry=r
        )
        self.cache_hits = Counter("journal_api_cache_hits_total", "Cache hits.", registry=r)
        self.cache_misses = Counter("journal_api_cache_misses_total", "Cache misses.", registry=r)
        self.cache_errors = Counter(
            "journal_api_cache_errors_total", "Redis calls that failed or were skipped.", registry=r
        )
        self.rate_limited = Counter(
            "journal_api_rate_limit_rejections_total",
            "Requests rejected with 429, by limit scope (ip or user).",
            ["scope"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class WorkerMetrics:
    """The worker's collectors (`python -m journal_api worker`, served on its own port)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.jobs = Counter(
            "journal_worker_jobs_total",
            "Job runs by kind and result (done, retry, dead).",
            ["kind", "result"],
            registry=r,
        )
        self.job_duration = Histogram(
            "journal_worker_job_duration_seconds",
            "Time spent running one job, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue = Gauge(
            "journal_worker_queue_jobs", "Jobs in the outbox by status.", ["status"], registry=r
        )
        self.breaker_open = Gauge(
            "journal_worker_inference_breaker_open",
            "1 while the model server's circuit breaker keeps analysis jobs queued.",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
