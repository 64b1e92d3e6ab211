"""The one request middleware: request id, body size limit, rate limits, metrics, access log.

A pure ASGI middleware (no `BaseHTTPMiddleware` overhead), installed by `create_app`
outermost, so it also sees 404s, 413s, 429s and crashes. In order, for each request:

1. Take the request id from `X-Request-ID` (or make one) and return it on the response.
2. Refuse bodies over `max_body_bytes`: by `Content-Length` up front, and by counting
   streamed bytes as the app reads them (never buffering the whole body here); the rest
   of a refused body is read and dropped, within bounds, so the 413 is not lost to a
   connection reset (`_discard_body`).
3. Apply the rate limits: a request with a valid bearer token counts against its user
   only (clients behind one address do not share a bucket), any other against the
   client's address (`proxies.py`: the right-most hop outside the trusted proxies), and
   `/api/v1/auth/*` also against a strict per-address limit. The same Redis round trip
   prefetches the user's auth state and cached body (`clients/gate.py`).
4. Turn anything that escaped the exception handlers into a 500 problem (no stack trace
   to the client), then record metrics by route template and log one JSON line.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journal_api import errors, logs, proxies, ratelimit, security
from journal_api import metrics as metrics_module
from journal_api import settings as settings_module
from journal_api.clients import gate

logger = logging.getLogger("journal_api.access")
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
AUTH_PREFIX = "/api/v1/auth/"
# How a 429 names the limit that refused the request.
_LIMIT_NAMES = {"ip": "ip", "user": "user", "auth": "address on /api/v1/auth"}
MAX_REQUEST_ID_LENGTH = 128


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _request_id(scope: Scope) -> str:
    supplied = _header(scope, b"x-request-id")
    # Accept only ids that are safe to echo into a header and a log line.
    if supplied and len(supplied) <= MAX_REQUEST_ID_LENGTH and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


def client_ip(scope: Scope, *, trusted: tuple[proxies.Network, ...]) -> str:
    """The client's address: the socket's peer, or behind ``trusted`` proxies the
    right-most `X-Forwarded-For` hop outside them."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded = _header(scope, b"x-forwarded-for") if trusted else None
    return proxies.client_address(peer, forwarded, trusted)[:64]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class RequestMiddleware:
    """See the module docstring.

    Args:
        app: the wrapped ASGI app.
        settings: limits and trust settings.
        metrics: the app's collectors.
        limiter: the shared rate limiter.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: settings_module.Settings,
        metrics: metrics_module.Metrics,
        limiter: ratelimit.RateLimiter,
    ) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.limiter = limiter
        self.trusted_proxies = proxies.parse(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = logs.request_id_var.set(request_id)
        scope["request_id"] = request_id
        scope["client_ip"] = client_ip(scope, trusted=self.trusted_proxies)
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            too_large = self._too_large(scope)
            if too_large is not None:
                await self._discard_body(receive, received=0)
            rejection = too_large or await self._rate_limited(scope)
            if rejection is not None:
                await rejection(scope, receive, send_with_id)
            else:
                await self.app(scope, self._counting(receive), send_with_id)
        except Exception as exc:
            if state["started"]:
                raise
            await self._crash_response(scope, exc)(scope, receive, send_with_id)
        finally:
            self._observe(scope, status=state["status"], started=started)
            logs.request_id_var.reset(token)

    def _too_large(self, scope: Scope) -> JSONResponse | None:
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.settings.max_body_bytes:
            return errors.problem_response(
                status=413,
                detail=f"request body exceeds {self.settings.max_body_bytes} bytes",
                request=Request(scope),
            )
        return None

    def _counting(self, receive: Receive) -> Receive:
        limit = self.settings.max_body_bytes
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if message.get("more_body", False):
                        await self._discard_body(receive, received=received)
                    # Raised inside the app's body read: FastAPI re-raises HTTPExceptions,
                    # and our handler answers 413 problem+json.
                    raise BodyTooLarge(limit)
            return message

        return counted

    async def _discard_body(self, receive: Receive, *, received: int) -> None:
        """Read and drop the rest of a refused body, up to `max_body_drain_bytes` and
        `body_drain_seconds`, before the 413 goes out.

        Why: once the answer is complete the server stops reading, and when it then closes
        the connection (the client asked for `Connection: close`, or h11 must close after
        an unread body) with the client's bytes still unread, the kernel sends a reset,
        which can destroy the 413 before the client has read it. A client still sending
        beyond the bound gets its 413 all the same, just without that guarantee.
        """
        deadline = time.monotonic() + self.settings.body_drain_seconds
        while received <= self.settings.max_body_drain_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                message = await asyncio.wait_for(receive(), remaining)
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return  # the client went away
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _rate_limited(self, scope: Scope) -> JSONResponse | None:
        if scope["path"] in UNLIMITED_PATHS:
            return None
        address = scope["client_ip"]
        user_id = self._bearer_user(scope)
        if scope["path"].startswith(AUTH_PREFIX):
            checks = [
                ("ip", f"ip:{address}", self.settings.rate_limit_per_ip),
                ("auth", f"auth-ip:{address}", self.settings.rate_limit_auth_per_ip),
            ]
        elif user_id is not None:
            checks = [("user", f"user:{user_id}", self.settings.rate_limit_per_user)]
        else:
            checks = [("ip", f"ip:{address}", self.settings.rate_limit_per_ip)]
        index, decision, prefetch = await self.limiter.hit(
            [(key, limit) for _, key, limit in checks],
            user_id=user_id,
            resource=gate.resource(scope),
            read_body=scope["method"] == "GET",
        )
        if decision.allowed:
            # Read by `deps.get_current_user` and `user_cache.lookup`: one round trip in all.
            scope[gate.SCOPE_KEY] = prefetch
            return None
        limit_scope, _, limit = checks[index]
        self.metrics.rate_limited.labels(limit_scope).inc()
        return errors.problem_response(
            status=429,
            detail=f"rate limit exceeded ({limit} requests per "
            f"{self.settings.rate_limit_window_seconds}s per {_LIMIT_NAMES[limit_scope]})",
            request=Request(scope),
            headers={"Retry-After": str(decision.retry_after)},
        )

    def _bearer_user(self, scope: Scope) -> uuid.UUID | None:
        authorization = _header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = security.decode_access_token(self.settings, token.strip())
        except security.InvalidTokenError:
            return None
        # `deps.get_current_user` reuses this verification instead of repeating it.
        scope["access_claims"] = (token.strip(), claims)
        return claims.user_id

    def _crash_response(self, scope: Scope, exc: Exception) -> JSONResponse:
        if isinstance(exc, HTTPException):
            return errors.problem_response(
                status=exc.status_code, detail=str(exc.detail), request=Request(scope)
            )
        logger.error("unhandled error", exc_info=exc)
        return errors.problem_response(
            status=500, detail="internal error; quote the request id", request=Request(scope)
        )

    def _observe(self, scope: Scope, *, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        # The route template, never the raw path: ids in paths would explode cardinality.
        template = getattr(route, "path", None) or "unmatched"
        labels = (template, scope["method"], str(status))
        self.metrics.requests.labels(*labels).inc()
        self.metrics.latency.labels(*labels).observe(elapsed)
        logger.info(
            "request",
            extra={
                "method": scope["method"],
                "route": template,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client_ip": scope.get("client_ip"),
                "user_id": scope.get("user_id"),
            },
        )
