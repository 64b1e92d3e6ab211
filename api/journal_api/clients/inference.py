"""The model server client: KServe V2 (Open Inference Protocol) over REST, with httpx.

Two calls: `analyze` (the `analyzer` model: emotions, sentiment and embedding of each
text from one encoder pass, for the worker) and `embed` (the `embedding` model, for
search queries). Each call has a timeout, retries what the server did not answer
(refused connection, timeout, 502/503/504) with exponential back-off and full jitter,
and goes through one `CircuitBreaker` per process, so a server that is down costs one
quick refusal rather than a timeout per caller. The errors say what the caller should
do: `InferenceUnavailable` (wait and retry, nothing is wrong with the input),
`InferenceRejected` (HTTP 400: this input will never work), `InferenceError` (anything
else: a broken server or response). Used by the worker (`services/analysis.py`) and
search (`services/search.py`); the API builds one in `main.py`'s lifespan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Sequence
from typing import Any

import httpx

from journal_api import settings as settings_module
from journal_api.clients import breaker as breaker_module
from journal_api.models import analysis as analysis_model
from journal_api.schemas import analysis as analysis_schema

ANALYZER = "analyzer"
EMBEDDING = "embedding"
# Answers that mean "not now" rather than "never": the server (or its proxy) is away.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
# What the `vector` column stores; a server with another encoder is misconfigured.
EMBEDDING_WIDTH = analysis_model.EMBEDDING_DIMENSIONS
logger = logging.getLogger(__name__)


class InferenceError(Exception):
    """The model server answered something unusable (500, a malformed response)."""


class InferenceUnavailable(InferenceError):  # noqa: N818 (a state, not a mistake)
    """The model server did not answer, or the breaker is open; try again later.

    Attributes:
        retry_after: seconds until the breaker lets a call through again.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InferenceRejected(InferenceError):  # noqa: N818 (named after the HTTP meaning)
    """HTTP 400: the server refuses this input (its message says why); never retry it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class TextAnalysis:
    """What `analyzer` says about one text."""

    emotion_scores: list[float]  # 28, in `analysis_schema.EMOTIONS` order
    emotion_labels: list[str]  # above their thresholds, strongest first
    ekman: str
    sentiment: str
    polarity: float
    embedding: list[float]
    truncated: bool


@dataclasses.dataclass(frozen=True)
class Analyses:
    """One `analyzer` response: an analysis per text, in order, and the model's identity."""

    items: list[TextAnalysis]
    model_name: str
    model_version: str


class InferenceClient:
    """Calls one model server.

    Args:
        base_url: e.g. ``http://analyzer:8080`` (no trailing slash).
        timeout: seconds per HTTP call.
        retries: extra tries of a call the server did not answer.
        retry_base_seconds: the back-off scale (try n waits up to base * 2**(n-1)).
        breaker: shared by every call of this client.
        transport: an httpx transport; tests may pass one, None means the network.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        retry_base_seconds: float,
        breaker: breaker_module.CircuitBreaker,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.breaker = breaker
        self._retries = retries
        self._retry_base = retry_base_seconds
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    @classmethod
    def from_settings(
        cls, settings: settings_module.Settings, *, retries: int | None = None
    ) -> InferenceClient | None:
        """The client for ``settings.inference_url``; None when no server is configured."""
        if settings.inference_url is None:
            return None
        return cls(
            settings.inference_url,
            timeout=settings.inference_timeout_seconds,
            retries=settings.inference_retries if retries is None else retries,
            retry_base_seconds=settings.inference_retry_base_seconds,
            breaker=breaker_module.CircuitBreaker(
                failures=settings.inference_breaker_failures,
                reset_seconds=settings.inference_breaker_reset_seconds,
                max_reset_seconds=settings.inference_breaker_max_reset_seconds,
            ),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def analyze(self, texts: Sequence[str]) -> Analyses:
        """Emotions, sentiment and embedding of each text, from `analyzer`.

        Raises:
            InferenceUnavailable: the server is down (or the breaker is open).
            InferenceRejected: the server refused the input (400), with its reason.
            InferenceError: any other failure.
        """
        body = await self._infer(ANALYZER, texts)
        outputs = _outputs(body, len(texts))
        try:
            scores = _rows(outputs["scores"], len(texts), len(analysis_schema.EMOTIONS))
            embeddings = _rows(outputs["embedding"], len(texts), EMBEDDING_WIDTH)
            items = [
                TextAnalysis(
                    emotion_scores=[float(value) for value in scores[n]],
                    emotion_labels=[
                        label for label in str(outputs["labels"]["data"][n]).split(",") if label
                    ],
                    ekman=str(outputs["ekman"]["data"][n]),
                    sentiment=str(outputs["label"]["data"][n]),
                    polarity=float(outputs["polarity"]["data"][n]),
                    embedding=[float(value) for value in embeddings[n]],
                    truncated=bool(outputs["truncated"]["data"][n]),
                )
                for n in range(len(texts))
            ]
            version = body.get("parameters", {}).get("model_version") or body["model_version"]
            return Analyses(items, str(body.get("model_name", ANALYZER)), str(version))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise InferenceError(f"malformed {ANALYZER} response: {exc!r}") from exc

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """The L2-normalised embedding of each text, from `embedding`.

        Raises:
            InferenceUnavailable: the server is down (or the breaker is open).
            InferenceRejected: the server refused the input (400), with its reason.
            InferenceError: any other failure.
        """
        body = await self._infer(EMBEDDING, texts)
        try:
            rows = _rows(_outputs(body, len(texts))["embedding"], len(texts), EMBEDDING_WIDTH)
            return [[float(value) for value in row] for row in rows]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InferenceError(f"malformed {EMBEDDING} response: {exc!r}") from exc

    async def model_version(self) -> str:
        """The version of the analyzer the server runs now (one tiny analysis)."""
        return (await self.analyze(["version probe"])).model_version

    async def _infer(self, model: str, texts: Sequence[str]) -> dict[str, Any]:
        if not self.breaker.allow():
            raise InferenceUnavailable(
                "the model server is unavailable (circuit open)",
                retry_after=self.breaker.retry_after(),
            )
        request = {"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES",
                               "data": list(texts)}]}  # fmt: skip
        outcome_recorded = False
        failure = ""
        try:
            for attempt in range(self._retries + 1):
                if attempt:
                    # Full jitter: a random wait up to the exponential cap.
                    cap = self._retry_base * 2 ** (attempt - 1)
                    await asyncio.sleep(random.uniform(0, cap))  # noqa: S311
                try:
                    response = await self._http.post(f"/v2/models/{model}/infer", json=request)
                except httpx.TransportError as exc:  # refused, reset, timed out
                    failure = f"{type(exc).__name__}: {exc}"
                    continue
                if response.status_code in UNAVAILABLE_STATUSES:
                    failure = f"HTTP {response.status_code}"
                    continue
                outcome_recorded = True
                return self._answer(model, response)
            outcome_recorded = True
            self.breaker.record_failure()
            logger.warning("model server unavailable", extra={"model": model, "error": failure})
            raise InferenceUnavailable(
                f"the model server is unavailable ({failure})",
                retry_after=self.breaker.retry_after(),
            )
        finally:
            if not outcome_recorded:
                self.breaker.abandon()

    def _answer(self, model: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 400:
            # The server is up and says no: that is a healthy answer for the breaker.
            self.breaker.record_success()
            raise InferenceRejected(_error_message(response))
        if response.status_code != 200:
            self.breaker.record_failure()
            raise InferenceError(f"{model}: HTTP {response.status_code}: {response.text[:500]}")
        self.breaker.record_success()
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise InferenceError(f"{model}: response is not JSON") from exc
        return body


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error) if error else response.text[:500] or "rejected (HTTP 400)"


def _outputs(body: dict[str, Any], count: int) -> dict[str, dict[str, Any]]:
    outputs = {output["name"]: output for output in body["outputs"]}
    for output in outputs.values():
        if not output.get("shape") or output["shape"][0] != count:
            raise ValueError(f"output {output['name']!r} has shape {output.get('shape')}")
    return outputs


def _rows(output: dict[str, Any], count: int, width: int) -> list[list[float]]:
    """A row-major ``[count, width]`` tensor as rows."""
    shape = output["shape"]
    data = output["data"]
    if len(shape) != 2 or shape[1] != width:
        raise ValueError(f"output {output['name']!r} has shape {shape}")
    columns = int(shape[1])
    if len(data) != count * columns:
        raise ValueError(f"output {output['name']!r} has {len(data)} values for {shape}")
    return [data[n * columns : (n + 1) * columns] for n in range(count)]
