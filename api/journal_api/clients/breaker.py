"""A circuit breaker for calls to a dependency that may be down (the model server).

Closed, it lets every call through and counts failures in a row; ``failures`` of them
open it. Open, it refuses calls (callers answer at once: a 503, a job left queued)
until ``reset_seconds`` have passed; then it lets exactly one probe through
(half-open). A successful probe closes it, a failed one opens it again for twice as
long, at most ``max_reset_seconds``. Each open period gets up to 20 % jitter, so
several workers that saw the same outage do not probe in step.

Why here and not in the worker: the API's semantic search and the worker share the
failure mode, and one breaker per process keeps a dead server from costing each request
a timeout. Used by `clients/inference.py`; asyncio only (no locks needed).
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable

JITTER = 0.2


class State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts failures of one dependency and says whether to call it now.

    Args:
        failures: consecutive failures that open the breaker.
        reset_seconds: the first open period.
        max_reset_seconds: the longest open period (it doubles per failed probe).
        clock: monotonic seconds; tests pass a fake.
    """

    def __init__(
        self,
        *,
        failures: int,
        reset_seconds: float,
        max_reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._reset = reset_seconds
        self._max_reset = max(max_reset_seconds, reset_seconds)
        self._clock = clock
        self._failures = 0
        self._opened = 0  # open periods in a row; sets the length of the next one
        self._open_until = 0.0
        self._probing = False
        self.state = State.CLOSED

    def allow(self) -> bool:
        """Whether a call may go out now; True in half-open means "you are the probe"."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.OPEN and self._clock() >= self._open_until:
            self.state = State.HALF_OPEN
            self._probing = False
        if self.state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def would_allow(self) -> bool:
        """Like `allow`, without claiming the probe (the worker asks before claiming)."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.OPEN:
            return self._clock() >= self._open_until
        return not self._probing

    def retry_after(self) -> float:
        """Seconds until a call may be tried again (0 when closed)."""
        if self.state is State.CLOSED:
            return 0.0
        return max(0.0, self._open_until - self._clock())

    def record_success(self) -> None:
        self.state = State.CLOSED
        self._failures = 0
        self._opened = 0
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self.state is State.HALF_OPEN or self._failures >= self._threshold:
            self._open()

    def abandon(self) -> None:
        """A call ended with no verdict (cancelled): let the next caller probe instead."""
        self._probing = False

    def _open(self) -> None:
        period = min(self._reset * 2 ** min(self._opened, 32), self._max_reset)
        self._open_until = self._clock() + period * (1 + JITTER * random.random())  # noqa: S311
        self._opened += 1
        self._probing = False
        self.state = State.OPEN
