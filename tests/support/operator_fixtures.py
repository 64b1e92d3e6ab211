"""Pytest fixtures that run the operator against the local control plane.

Register with ``pytest_plugins = ["tests.support.operator_fixtures"]`` (after
``tests.support.cluster_fixtures``, whose ``k8s_cluster`` it uses).

- ``journal_operator`` (session): one ``python -m journal_operator`` subprocess watching the
  whole test cluster. A test that kills it must start it again (``restart_operator`` does).
- ``restart_operator`` (function): yields the operator and makes sure it runs afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import LocalCluster
from tests.support.operator_process import OperatorProcess


@pytest.fixture(scope="session")
def journal_operator(
    k8s_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log_path = Path(tmp_path_factory.mktemp("operator")) / "operator.log"
    process = OperatorProcess(k8s_cluster.kubeconfig, log_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def restart_operator(journal_operator: OperatorProcess) -> Iterator[OperatorProcess]:
    try:
        yield journal_operator
    finally:
        if not journal_operator.running():
            journal_operator.start()
