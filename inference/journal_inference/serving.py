"""`python -m journal_inference serve`: the KServe model server on our settings.

Start-up order, and why: the HTTP and gRPC listeners come up first, so liveness answers while
the artifact loads; then the engine loads and warms up off the event loop, and only then do
`/v2/health/ready` and every model's ready endpoint say ready. A load failure ends the process
with the reason logged, so the pod restarts instead of serving nothing.

KServe 0.21 hard-codes the listen address (0.0.0.0 for REST, [::] for gRPC) and calls every
server ready; `JournalModelServer` binds `settings.host` and asks the engine instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from concurrent import futures
from typing import Any

from journal_inference import logs
from journal_inference.settings import Settings

log = logging.getLogger("journal_inference")
STARTED = time.monotonic()


def parse_settings(argv: list[str]) -> Settings:
    """Settings from `JOURNAL_INFERENCE_*`, overridden by KServe-style flags."""
    p = argparse.ArgumentParser(prog="python -m journal_inference serve")
    p.add_argument("--http_port", "--http-port", type=int)
    p.add_argument("--grpc_port", "--grpc-port", type=int)
    p.add_argument("--host")
    p.add_argument("--task", choices=["all", "emotion", "sentiment", "embedding"])
    p.add_argument("--artifact_dir", "--artifact-dir")
    p.add_argument("--model_name", help="accepted for KServe compatibility; names follow --task")
    args, _unknown = p.parse_known_args(argv)  # KServe's own flags (e.g. --workers) pass through
    overrides = {k: v for k, v in vars(args).items() if v is not None and k != "model_name"}
    return Settings(**overrides)


def main(argv: list[str]) -> int:
    settings = parse_settings(argv)
    logs.configure()
    # Imported here: kserve parses sys.argv and builds its app at import time.
    import kserve.model_server

    from journal_inference import models

    kserve.model_server.args.configure_logging = False  # ours (JSON) stays in place
    engine = models.Engine(settings)
    served = [models.TaskModel(name, engine) for name in engine.model_names()]
    server = _server_class()(settings, engine)
    log.info(
        "model server starting",
        extra={
            "host": settings.host,
            "http_port": settings.http_port,
            "grpc_port": settings.grpc_port if settings.enable_grpc else None,
            "models": [m.name for m in served],
            "batching": settings.batching,
            "max_batch_size": settings.max_batch_size,
            "max_batch_wait_ms": settings.max_batch_wait_ms,
        },
    )
    server.start(served)
    return 0


def _server_class() -> Any:
    """Defined lazily so importing this module does not import kserve."""
    import kserve
    import kserve.model_server
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from grpc import aio
    from kserve.model_server import FASTAPI_APP_IMPORT_STRING
    from kserve.protocol.dataplane import DataPlane
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor, LoggingInterceptor
    from kserve.protocol.grpc.server import GRPCServer
    from kserve.protocol.grpc.servicer import InferenceServicer
    from kserve.protocol.rest.server import RESTServer

    from journal_inference import models

    async def _request_validation_error(_: Any, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return JSONResponse(status_code=400, content={"error": f"invalid request body: {problems}"})

    class EngineDataPlane(DataPlane):  # type: ignore[misc]
        """Server readiness is the engine's: loaded and warmed up."""

        def __init__(self, engine: models.Engine, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.engine = engine

        async def ready(self) -> bool:
            return bool(self.engine.models) and all(m.ready for m in self.engine.models)

    class BoundGRPCServer(GRPCServer):  # type: ignore[misc]
        def __init__(self, host: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.host = host

        async def start(self, max_workers: int) -> None:
            self._server = aio.server(
                futures.ThreadPoolExecutor(max_workers=max_workers),
                interceptors=(LoggingInterceptor(), ExceptionToStatusInterceptor()),
            )
            grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
                InferenceServicer(self._data_plane, self._model_repository_extension), self._server
            )
            self._server.add_insecure_port(f"{self.host}:{self._port}")
            await self._server.start()
            await self._server.wait_for_termination()

    class JournalModelServer(kserve.ModelServer):  # type: ignore[misc]
        def __init__(self, settings: Settings, engine: models.Engine) -> None:
            super().__init__(
                http_port=settings.http_port,
                grpc_port=settings.grpc_port,
                workers=1,
                enable_grpc=settings.enable_grpc,
            )
            self.settings = settings
            self.engine = engine
            self.dataplane = EngineDataPlane(engine, model_registry=self.registered_models)

        def start(self, models_: list[models.TaskModel]) -> None:
            for m in models_:
                self.register_model(m)
            self._rest_server = RESTServer(
                FASTAPI_APP_IMPORT_STRING,
                self.dataplane,
                self.model_repository_extension,
                self.http_port,
                workers=1,
                grace_period=self.grace_period,
                event_loop=self.event_loop,
                timeout_keep_alive=self.timeout_keep_alive,
            )
            self._rest_server.config.host = self.settings.host
            # A body FastAPI cannot parse is bad input like any other: 400, not 422.
            kserve.model_server.app.add_exception_handler(
                RequestValidationError, _request_validation_error
            )
            self.servers.append(self._rest_server.start())
            if self.enable_grpc:
                self._grpc_server = BoundGRPCServer(
                    self.settings.host,
                    self.grpc_port,
                    self.dataplane,
                    self.model_repository_extension,
                    kwargs={},
                    grace_period=self.grace_period,
                )
                self.servers.append(self._grpc_server.start(self.max_threads))
            self.servers.append(self._load())
            self.setup_event_loop()
            self.register_signal_handler()
            asyncio.run(self._serve())

        async def _load(self) -> None:
            # After the HTTP listener is up (uvicorn's `started`), so liveness answers for the
            # whole load; off the event loop, so it keeps answering while the session builds.
            # uvicorn exposes only a flag for this, no event to wait on.
            while not self._rest_server._server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await asyncio.get_running_loop().run_in_executor(None, self.engine.load)
            log.info(
                "model server ready",
                extra={"seconds_since_start": round(time.monotonic() - STARTED, 3)},
            )

    return JournalModelServer
