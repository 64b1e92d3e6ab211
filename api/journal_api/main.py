"""`create_app(settings)`: the FastAPI application with its routers, middleware and state.

Nothing happens at import time. The lifespan opens the database engine and the model
server client (when `inference_url` is set) and closes them and the Redis client on
shutdown; it never migrates (see `migrating.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from journal_api import db, errors, middleware, migrating, ratelimit, security
from journal_api import metrics as metrics_module
from journal_api import settings as settings_module
from journal_api.clients import cache as cache_module
from journal_api.clients import inference
from journal_api.knowledge import resources as crisis_resources
from journal_api.models import registry
from journal_api.routes import (
    auth,
    bench,
    entries,
    export,
    health,
    insights,
    search,
    suggestions,
    topics,
    users,
)

# Every model module must be imported before the first query (relationships resolve by name).
assert registry.MODULES


def routers() -> list[APIRouter]:
    """Every router the app serves. ADD ONE LINE PER NEW ROUTER MODULE HERE."""
    return [
        health.router,
        auth.router,
        users.router,
        export.router,
        topics.router,
        entries.router,
        search.router,
        insights.router,
        suggestions.router,
    ]


def _operation_id(route: APIRoute) -> str:
    # Stable `{tag}-{name}` ids keep generated clients readable.
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: settings_module.Settings = app.state.settings
    engine = db.make_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = db.make_sessionmaker(engine)
    # A request waits for at most one retry: a search should answer 503 fast, not
    # ride out an outage the way the worker does.
    client = inference.InferenceClient.from_settings(
        settings, retries=min(settings.inference_retries, 1)
    )
    app.state.inference = client
    try:
        yield
    finally:
        if client is not None:
            await client.aclose()
        await app.state.cache.close()
        await engine.dispose()


def create_app(settings: settings_module.Settings) -> FastAPI:
    """Build the API for ``settings``; serve it with uvicorn or drive it with httpx."""
    app = FastAPI(
        title="Journal API",
        version="1.0.0",
        description="A secure multi-user journaling service. Errors are RFC 9457 problems.",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
        responses=errors.PROBLEM_RESPONSES,
        # Off: no /docs, /redoc or /openapi.json at all (the Ingress never routes them).
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    metrics = metrics_module.Metrics()
    cache = cache_module.Cache(
        settings.redis_url,
        metrics=metrics,
        timeout=settings.cache_timeout_seconds,
        retry_seconds=settings.cache_retry_seconds,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.cache = cache
    app.state.inference = None  # the lifespan connects it
    app.state.head_revision = migrating.head_revision()
    # A bad operator-mounted crisis resources file stops start-up, not a flagged request.
    crisis_resources.load(settings.crisis_resources_file)
    served = [*routers(), *([bench.router] if settings.bench_endpoints else [])]
    for router in served:
        # bench: the benchmark-only ceiling endpoint; never enabled in a deployment.
        app.include_router(router)
    # A 405's `Allow` names every method of the path, not one route's (`errors.py`).
    setattr(app.state, errors.METHODS_KEY, errors.method_table(served))
    errors.install(app)
    # Shared by the middleware (per address and user) and `deps.limit_per_account`.
    app.state.limiter = ratelimit.RateLimiter(
        cache, window_seconds=settings.rate_limit_window_seconds
    )
    app.state.password_slots = security.PasswordSlots(settings)
    app.add_middleware(
        middleware.RequestMiddleware,
        settings=settings,
        metrics=metrics,
        limiter=app.state.limiter,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = errors.problems_as_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
