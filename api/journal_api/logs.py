"""Structured JSON logs on stdout, one object per line, with the request id attached.

`configure(level)` is called once by `__main__` (and by `create_app` when nothing has
configured logging yet). The request id lives in a context variable set by the request
middleware, so every line logged while serving a request carries it. Messages and
extras must never contain passwords, tokens or keys; `_REDACTED_KEYS` is the safety net.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn duplicates msg with ANSI colours
}
_REDACTED_KEYS = {"password", "token", "access_token", "refresh_token", "authorization", "secret"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = "[redacted]" if key.lower() in _REDACTED_KEYS else value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    """Send every logger (ours, uvicorn's, SQLAlchemy's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # We log each request ourselves (with its id); uvicorn's access line would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True
    # One INFO line per model-server call is noise; failures are logged by our client.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
