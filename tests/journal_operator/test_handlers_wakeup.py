"""How a platform's daemon is woken: by its children's watch events, and at once.

Aspects under test:
- indexing a child rings its owner's doorbell (no second handler runs per child event);
- a child with no JournalPlatform owner is not indexed and rings nothing;
- a deleted child, which Kopf drops from the index without calling an index handler, rings
  through the event handler, whose filter lets deletions through and nothing else;
- a rung doorbell starts a pass within a few turns of the event loop: no timed pause stands
  between a child's change and the pass that acts on it (counted in loop turns, not seconds).
"""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any, cast

import kopf
import pytest
from journal_operator import handlers
from journal_operator import settings as settings_mod

from tests.journal_operator import factories

KEY = (factories.NAMESPACE, "demo")
OWNER_REF = {
    "apiVersion": "journalplatform.io/v1alpha1",
    "kind": "JournalPlatform",
    "name": "demo",
    "uid": factories.UID,
}


def _child(*, owned: bool = True) -> kopf.Body:
    meta: dict[str, Any] = {
        "name": "demo-api",
        "namespace": factories.NAMESPACE,
        "resourceVersion": "42",
        "labels": {"app.kubernetes.io/managed-by": "journal-operator"},
    }
    if owned:
        meta["ownerReferences"] = [OWNER_REF]
    return kopf.Body(cast(Any, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}))


def _memo(**extra: Any) -> kopf.Memo:
    memo = kopf.Memo(doorbells=handlers.Doorbells(), **extra)
    return memo


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_indexing_a_child_rings_its_owner() -> None:
    memo = _memo()
    bell = memo["doorbells"].get(KEY)
    indexed = await handlers._index_child(body=_child(), memo=memo)
    assert list(indexed) == [KEY]
    assert bell.is_set()


async def test_indexing_a_secret_rings_its_owner() -> None:
    memo = _memo()
    bell = memo["doorbells"].get(KEY)
    body = _child()
    indexed = await handlers._index_secret(body=body, memo=memo)
    assert indexed == {KEY: ("demo-api", "42")}
    assert bell.is_set()


async def test_a_child_without_an_owner_is_not_indexed_and_rings_nothing() -> None:
    memo = _memo()
    bell = memo["doorbells"].get(KEY)
    assert await handlers._index_child(body=_child(owned=False), memo=memo) == {}
    assert not bell.is_set()


async def test_a_deleted_child_rings_through_the_event_handler_only() -> None:
    assert handlers._deleted(type="DELETED")
    assert not any(handlers._deleted(type=t) for t in ("ADDED", "MODIFIED", None))
    memo = _memo()
    bell = memo["doorbells"].get(KEY)
    await handlers._ring_owner_of_deleted(body=_child(), memo=memo)
    assert bell.is_set()


async def test_a_rung_doorbell_starts_a_pass_within_a_few_loop_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes: list[str] = []

    async def fake_reconcile(body: kopf.Body, *, trigger: str, **_: Any) -> None:
        passes.append(trigger)

    # A recorder in place of the pass: what is under test is how many event-loop turns pass
    # between the bell and the daemon's call, and a real pass's API-server round trips
    # would turn that count into a wall-clock timing. Real passes, woken the same way, run
    # on the local control plane in the reconcile tests and are timed by the bench.
    monkeypatch.setattr(handlers, "_reconcile", fake_reconcile)
    applier = types.SimpleNamespace(take_deferred=lambda *_: False)
    memo = _memo(
        settings=settings_mod.OperatorSettings(resync_seconds=3600),
        context=types.SimpleNamespace(applier=applier),
    )
    owner = kopf.Body(
        cast(Any, {"metadata": {**OWNER_REF, "namespace": KEY[0], "resourceVersion": "1"}})
    )
    # Called as Kopf calls it, with only the arguments it reads (Kopf's type wants them all).
    keep_reconciled: Any = handlers.keep_reconciled
    daemon: asyncio.Task[None] = asyncio.create_task(
        keep_reconciled(
            body=owner, memo=memo, logger=logging.getLogger(__name__), namespace=KEY[0], name=KEY[1]
        )
    )
    try:
        await _turns(5)
        assert passes == []  # waiting on its bell; the resync is an hour away
        handlers._ring(memo, KEY)
        await _turns(5)
        assert passes == ["child"]
        handlers._ring(memo, KEY)
        await _turns(5)
        assert passes == ["child", "child"]
    finally:
        daemon.cancel()
        with pytest.raises(asyncio.CancelledError):
            await daemon
