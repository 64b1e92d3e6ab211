"""`python -m journal_api [serve|migrate|worker|reanalyze]`: run the API (default), apply
migrations, run the background worker that drains the jobs outbox (`working.py`), or
queue the re-analysis of entries analysed by another model version (`reanalyzing.py`).

Settings come from `JOURNAL_API_*` environment variables (see `settings.py`).
"""

from __future__ import annotations

import argparse
import asyncio

import pydantic
import uvicorn
from fastapi import FastAPI

from journal_api import evaluate_safety, logs, migrating, reanalyzing, working
from journal_api import main as application
from journal_api import settings as settings_module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m journal_api")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the API with uvicorn (the default)")
    serve.add_argument("--host", help="overrides JOURNAL_API_HOST")
    serve.add_argument("--port", type=int, help="overrides JOURNAL_API_PORT")
    serve.add_argument("--workers", type=int, help="overrides JOURNAL_API_WORKERS")
    sub.add_parser("migrate", help="apply database migrations up to head, then exit")
    sub.add_parser("worker", help="run background jobs until SIGTERM (see working.py)")
    evaluate_safety.add_arguments(
        sub.add_parser("safety-eval", help="score the crisis screen (see evaluate_safety.py)")
    )
    reanalyze = sub.add_parser(
        "reanalyze", help="queue analyses made by another model version (see reanalyzing.py)"
    )
    reanalyze.add_argument(
        "--model-version",
        help="the version to keep (default: the one the model server reports now)",
    )
    reanalyze.add_argument(
        "--batch-size",
        type=int,
        default=reanalyzing.DEFAULT_BATCH,
        help="analyses checked per transaction (default %(default)s)",
    )
    return parser


def serve(settings: settings_module.Settings, *, workers: int) -> None:
    if workers > 1:
        # Each worker process builds its own app (and engine) from the environment.
        uvicorn.run(
            "journal_api.__main__:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_config=None,
            # The middleware resolves the client behind JOURNAL_API_TRUSTED_PROXIES.
            proxy_headers=False,
        )
        return
    uvicorn.run(
        application.create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        # The middleware resolves the client behind JOURNAL_API_TRUSTED_PROXIES.
        proxy_headers=False,
    )


def app_from_environment() -> FastAPI:
    settings = settings_module.Settings()
    logs.configure(settings.log_level)
    return application.create_app(settings)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    overrides = {
        key: value
        for key in ("host", "port", "workers", "inference_url")
        if (value := getattr(args, key, None)) is not None
    }
    if args.command == "safety-eval":
        # An offline evaluation signs no token and serves no one: it needs only the model
        # server, not the production keys a deployment must set.
        overrides.setdefault("environment", "development")
    try:
        settings = settings_module.Settings(**overrides)
    except pydantic.ValidationError as exc:
        # A configuration mistake: say what is wrong, without a traceback.
        raise SystemExit(f"journal_api: invalid configuration\n{exc}") from None
    logs.configure(settings.log_level)
    if args.command == "migrate":
        asyncio.run(migrating.run(settings))
        return
    if args.command == "safety-eval":
        raise SystemExit(evaluate_safety.main(args, settings))
    if args.command == "worker":
        asyncio.run(working.serve(settings))
        return
    if args.command == "reanalyze":
        if args.batch_size < 1:
            raise SystemExit("journal_api: --batch-size must be at least 1")
        asyncio.run(
            reanalyzing.run(settings, model_version=args.model_version, batch=args.batch_size)
        )
        return
    serve(settings, workers=settings.workers)


if __name__ == "__main__":
    main()
