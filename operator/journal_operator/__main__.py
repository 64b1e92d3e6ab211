"""``python -m journal_operator``: load settings, serve metrics, register the handlers, run Kopf.

The operator runs standalone (one replica, ``strategy: Recreate``; Kopf has no leader
election), watching every namespace or the ``JOURNAL_OPERATOR_NAMESPACES`` list.
"""

from __future__ import annotations

import asyncio
import logging

import kopf

from journal_operator import metrics
from journal_operator import settings as settings_mod


def main() -> None:
    """Run the operator until SIGINT/SIGTERM."""
    settings = settings_mod.OperatorSettings()
    kopf.configure(
        log_format={
            "plain": kopf.LogFormat.PLAIN,
            "full": kopf.LogFormat.FULL,
            "json": kopf.LogFormat.JSON,
        }[settings.log_format],
        verbose=settings.log_level == "DEBUG",
    )
    logging.getLogger().setLevel(settings.log_level)
    # Registering the handlers is the import's side effect; importing here (not at module
    # level) keeps `python -m journal_operator --help`-style imports free of it.
    from journal_operator import handlers  # noqa: F401

    metrics.serve(host=settings.metrics_host, port=settings.metrics_port)
    liveness = (
        f"http://{settings.liveness_host}:{settings.liveness_port}/healthz"
        if settings.liveness_port
        else None
    )
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=settings.clusterwide,
            namespaces=settings.namespaces,
            liveness_endpoint=liveness,
            memo=kopf.Memo(settings=settings),
        )
    )


if __name__ == "__main__":
    main()
