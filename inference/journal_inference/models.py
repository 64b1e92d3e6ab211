"""KServe models: four names (`emotion`, `sentiment`, `embedding`, `analyzer`) over one engine.

The `Engine` owns the artifact, the ONNX session and the micro-batcher; every `TaskModel` sends
its texts through the same engine, so one forward pass serves all names and concurrent requests
to different names share passes too. Models start not ready; `Engine.load()` (run by
serving.py after the server is listening) loads, warms up, and marks them ready.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import kserve
from kserve import InferRequest, InferResponse

from journal_inference import artifact, batching, codecs, runtime, telemetry
from journal_inference.settings import Settings, Task

log = logging.getLogger("journal_inference")
WARM_UP_TEXTS = ["warming up the encoder", "a second, somewhat longer text to warm up with"]


class Engine:
    """One artifact and one batcher, shared by every served model name."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = codecs.Limits(
            max_texts=settings.max_texts, max_text_chars=settings.max_text_chars
        )
        self.models: list[TaskModel] = []
        self.artifact: artifact.Artifact | None = None
        self.batcher: batching.MicroBatcher | None = None

    def model_names(self) -> list[str]:
        if self.settings.task is Task.ALL:
            return list(codecs.MODELS)
        return [self.settings.task.value]

    def load(self) -> None:
        """Load the artifact, run a warm-up batch, then mark every model ready.

        Raises:
            artifact.ArtifactError: the artifact folder is missing or altered.
        """
        started = time.monotonic()
        art = artifact.load(self.settings.artifact_dir or artifact.bundled())
        threads = self.settings.threads or len(os.sched_getaffinity(0))
        analyzer = runtime.Analyzer(art, threads=threads)
        analyzer.run(WARM_UP_TEXTS)
        self.artifact = art
        self.batcher = batching.MicroBatcher(
            analyzer.run,
            enabled=self.settings.batching,
            max_batch=self.settings.max_batch_size,
            max_wait=self.settings.max_batch_wait_ms / 1000,
        )
        for m in self.models:
            m.ready = True
        telemetry.READY.set(1)
        log.info(
            "model artifact loaded",
            extra={
                "artifact": str(art.root),
                "version": art.version,
                "precision": art.precision,
                "threads": threads,
                "load_seconds": round(time.monotonic() - started, 3),
            },
        )

    async def analyse(self, model: str, texts: list[str]) -> runtime.Analysis:
        if self.batcher is None:
            raise RuntimeError("the model artifact is not loaded yet")
        out = await self.batcher.submit(texts)
        telemetry.TEXTS.labels(model).inc(len(texts))
        if out.truncated.any():
            telemetry.TRUNCATED.inc(int(out.truncated.sum()))
        return out


class TaskModel(kserve.Model):  # type: ignore[misc]
    """One served name; parsing and encoding live in codecs.py, the work in the engine."""

    def __init__(self, name: str, engine: Engine) -> None:
        super().__init__(name)
        self.engine = engine
        self.ready = False
        engine.models.append(self)

    def load(self) -> bool:
        # Loading is the engine's (shared by all names); see serving.py for when it runs.
        return bool(self.ready)

    async def predict(
        self,
        payload: Any,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> InferResponse | dict[str, Any]:
        art = self.engine.artifact
        assert art is not None  # kserve answers 503 for a model that is not ready
        if isinstance(payload, InferRequest):
            texts = codecs.texts_from_v2(payload, self.engine.limits)
            out = await self.engine.analyse(self.name, texts)
            return codecs.v2_response(self.name, art, out, payload.id)
        texts = codecs.texts_from_v1(payload, self.engine.limits)
        out = await self.engine.analyse(self.name, texts)
        return codecs.v1_response(self.name, art, out)
