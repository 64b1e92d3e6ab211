"""Micro-batching: concurrent requests share one encoder forward pass.

KServe's Python server runs each request on its own; the encoder is the cost, and on a few CPU
cores one pass over 32 texts is far cheaper than 32 passes over one. Requests wait at most
`max_wait` for company, a pass takes at most `max_batch` texts, and passes run one at a time on a
dedicated thread (ONNX Runtime already uses every core), so the event loop stays free for health
checks. With batching off, each request gets its own pass on the same thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from journal_inference import runtime, telemetry


@dataclasses.dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future[runtime.Analysis]
    enqueued: float


class MicroBatcher:
    """Gathers `submit` calls into forward passes of `run`."""

    def __init__(
        self,
        run: Callable[[list[str]], runtime.Analysis],
        *,
        enabled: bool,
        max_batch: int,
        max_wait: float,
    ) -> None:
        self._run = run
        self.enabled = enabled
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="forward")
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, texts: list[str]) -> runtime.Analysis:
        """Analyse `texts`, possibly in one pass with other requests' texts."""
        if not self.enabled:
            return await self._forward(texts, waited=[0.0])
        if self._task is None:  # started lazily: it must live on the server's event loop
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._loop(), name="micro-batcher")
        assert self._queue is not None
        future: asyncio.Future[runtime.Analysis] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(texts, future, time.perf_counter()))
        return await future

    async def _forward(self, texts: list[str], *, waited: list[float]) -> runtime.Analysis:
        for w in waited:
            telemetry.QUEUE_WAIT.observe(w)
        telemetry.BATCH_SIZE.observe(len(texts))
        started = time.perf_counter()
        out = await asyncio.get_running_loop().run_in_executor(self._executor, self._run, texts)
        telemetry.FORWARD.observe(time.perf_counter() - started)
        return out

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                # Take whatever is already queued, then wait for more until the deadline.
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                if size + len(item.texts) > self.max_batch:
                    # Keeps passes bounded; it goes first in the next pass.
                    await self._run_batch(batch)
                    batch, size, deadline = [item], len(item.texts), loop.time() + self.max_wait
                    continue
                batch.append(item)
                size += len(item.texts)
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[_Pending]) -> None:
        now = time.perf_counter()
        texts = [t for p in batch for t in p.texts]
        try:
            out = await self._forward(texts, waited=[now - p.enqueued for p in batch])
        except Exception as exc:  # every waiter gets the failure, the loop goes on
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        start = 0
        for p in batch:
            if not p.future.done():  # a cancelled request (client gone) has no one to answer
                p.future.set_result(out.rows(start, start + len(p.texts)))
            start += len(p.texts)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)
