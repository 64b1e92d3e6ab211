"""A real local Kubernetes control plane for tests: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler built from their Go modules, with
KWOK-simulated nodes (hack/cluster/, see hack/cluster/README.md).

Deployments get ReplicaSets and Pods, the scheduler binds them to KWOK nodes,
KWOK makes them Running/Ready (or Failed / never Ready for images tagged
``-fail`` / ``-stall``), Jobs complete and garbage collection runs, all through
Kubernetes' own controllers. Only kubelets and containers are simulated.

Usage::

    cluster = LocalCluster(name="journal-test-1")
    cluster.start(workdir)            # hack/cluster/up.sh in a private state dir
    cluster.kubectl("get", "nodes")
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", ...})
    cluster.stop()                    # hack/cluster/down.sh
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPTS = REPO_ROOT / "hack" / "cluster"

# build.sh exits with this code when it cannot build (no Go toolchain): callers skip.
_EXIT_CANNOT_BUILD = 3

T = TypeVar("T")
Manifest = Mapping[str, Any]


class ClusterUnavailableError(RuntimeError):
    """The control plane cannot run here (no Go toolchain to build it, no kubectl)."""


def kubectl_binary() -> str:
    """The kubectl to use: $KUBECTL, else the one build.sh built, else the one on PATH.

    The built one matches the server's version; a machine's own kubectl may be far older.

    Raises:
        ClusterUnavailableError: there is none.
    """
    built = control_plane_bin_dir_if_built() / "kubectl"
    if "KUBECTL" not in os.environ and os.access(built, os.X_OK):
        return str(built)
    found = shutil.which(os.environ.get("KUBECTL", "kubectl"))
    if found is None:
        raise ClusterUnavailableError("kubectl is not installed (or set KUBECTL=/path/to/kubectl)")
    return found


def control_plane_bin_dir_if_built() -> Path:
    """Where build.sh puts (or has put) the binaries, without building anything."""
    result = subprocess.run(
        ["bash", str(CLUSTER_SCRIPTS / "build.sh"), "--print-bin-dir"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(result.stdout.strip())


def control_plane_bin_dir(*, timeout: float = 3600) -> Path:
    """Build (or find) the control-plane binaries with hack/cluster/build.sh; return their dir.

    Warm runs return in well under a second; a cold build takes minutes.

    Raises:
        ClusterUnavailableError: they cannot be built here (no Go toolchain).
        RuntimeError: the build failed.
    """
    result = subprocess.run(
        ["bash", str(CLUSTER_SCRIPTS / "build.sh")],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode == _EXIT_CANNOT_BUILD:
        raise ClusterUnavailableError(result.stderr.strip().splitlines()[0])
    if result.returncode != 0:
        raise RuntimeError(f"hack/cluster/build.sh failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 120,
    interval: float = 0.5,
    description: str = "condition",
) -> T:
    """Call ``probe`` until it returns something truthy and return that.

    Raises:
        TimeoutError: it never did within ``timeout`` seconds (the message
            includes the last value seen).
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout:.0f}s waiting for {description}; last: {last!r}"
            )
        time.sleep(interval)


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The ``status.conditions`` entry of type ``kind``, if any."""
    for entry in obj.get("status", {}).get("conditions", None) or []:
        if entry.get("type") == kind:
            return dict(entry)
    return None


def condition_is(obj: Mapping[str, Any], kind: str, status: str = "True") -> bool:
    found = condition(obj, kind)
    return found is not None and found.get("status") == status


class KubectlError(RuntimeError):
    """A kubectl command exited non-zero."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


class LocalCluster:
    """One local control plane with KWOK nodes, driven by hack/cluster/{up,down}.sh.

    Args:
        name: cluster name (kwokctl's; keep it distinct from a user's ``journal``).
        nodes: number of KWOK nodes.
        kubeconfig: where to write the kubeconfig; default ``<workdir>/kubeconfig``.
        timeout: seconds up.sh may wait for the apiserver, nodes and CRDs.
    """

    def __init__(
        self,
        name: str = "journal",
        *,
        nodes: int = 3,
        kubeconfig: Path | None = None,
        timeout: float = 180,
    ) -> None:
        self.name = name
        self.nodes = nodes
        self.timeout = timeout
        self._kubeconfig = kubeconfig
        self.workdir: Path | None = None
        self._kubectl = kubectl_binary()

    @classmethod
    def existing(cls, kubeconfig: Path) -> LocalCluster:
        """Wrap an already-running cluster (not started or stopped by us)."""
        cluster = cls(name="existing", kubeconfig=kubeconfig)
        cluster.kubectl("get", "--raw=/readyz")
        return cluster

    @property
    def kubeconfig(self) -> Path:
        if self._kubeconfig is not None:
            return self._kubeconfig
        if self.workdir is None:
            raise RuntimeError("the cluster has not been started")
        return self.workdir / "kubeconfig"

    @property
    def logs_dir(self) -> Path | None:
        """Component logs (etcd, kube-apiserver, ...), while the cluster runs."""
        if self.workdir is None:
            return None
        return self.workdir / "kwok" / "clusters" / self.name / "logs"

    def _script_env(self) -> dict[str, str]:
        assert self.workdir is not None
        return {
            **os.environ,
            "CLUSTER_NAME": self.name,
            "CLUSTER_WORKDIR": str(self.workdir),
            "KUBECONFIG_OUT": str(self.kubeconfig),
            "CLUSTER_NODES": str(self.nodes),
            "CLUSTER_TIMEOUT": str(int(self.timeout)),
            "KUBECTL": self._kubectl,
        }

    def start(self, workdir: Path) -> None:
        """Build if needed, start the cluster with its state in ``workdir``, wait until ready.

        Raises:
            ClusterUnavailableError: the binaries cannot be built here.
            RuntimeError: the cluster did not come up (message has up.sh's output).
        """
        control_plane_bin_dir()
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        result = subprocess.run(
            ["bash", str(CLUSTER_SCRIPTS / "up.sh")],
            env=self._script_env(),
            capture_output=True,
            text=True,
            timeout=self.timeout + 600,
            check=False,
        )
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"hack/cluster/up.sh failed:\n{result.stderr[-6000:]}")

    def stop(self) -> None:
        """Stop every process of the cluster and delete its state (idempotent)."""
        if self.workdir is None:
            return
        subprocess.run(
            ["bash", str(CLUSTER_SCRIPTS / "down.sh")],
            env=self._script_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # -- kubectl helpers ---------------------------------------------------------------

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl --kubeconfig <ours> ARGS``.

        Raises:
            KubectlError: it exited non-zero and ``check`` is set.
        """
        result = subprocess.run(
            [self._kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(args, result.returncode, result.stderr)
        return result

    def apply(
        self,
        source: Path | Manifest | Sequence[Manifest] | str,
        *,
        namespace: str | None = None,
        server_side: bool = True,
    ) -> None:
        """``kubectl apply`` a file/dir Path, a manifest dict (or list of them), or YAML text.

        Server-side apply by default (large CRDs exceed client-side apply's annotation limit).
        """
        args = ["apply"]
        if server_side:
            args += ["--server-side", "--force-conflicts", "--field-manager=journal-tests"]
        if namespace:
            args += ["--namespace", namespace]
        if isinstance(source, Path):
            self.kubectl(*args, "-f", str(source))
            return
        if isinstance(source, str):
            text = source
        elif isinstance(source, Mapping):
            text = json.dumps(source)
        else:
            text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(source)})
        self.kubectl(*args, "-f", "-", stdin=text)

    def get(self, kind: str, name: str | None = None, *, namespace: str | None = None) -> Any:
        """``kubectl get -o json``: the object, or ``{"items": [...]}`` without a name.

        Raises:
            KubectlError: e.g. NotFound.
        """
        args = ["get", kind]
        if name:
            args.append(name)
        if namespace:
            args += ["--namespace", namespace]
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def items(
        self, kind: str, *, namespace: str | None = None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """``kubectl get KIND [-l SELECTOR] -o json``'s items."""
        args = ["get", kind, "-o", "json"]
        if namespace:
            args += ["--namespace", namespace]
        if selector:
            args += ["--selector", selector]
        found: list[dict[str, Any]] = json.loads(self.kubectl(*args).stdout)["items"]
        return found

    def get_or_none(self, kind: str, name: str, *, namespace: str | None = None) -> Any:
        """Like :meth:`get` for one object, but None when it does not exist."""
        args = ["get", kind, name, "-o", "json", "--ignore-not-found"]
        if namespace:
            args += ["--namespace", namespace]
        out = self.kubectl(*args).stdout.strip()
        return json.loads(out) if out else None

    def delete(
        self, kind: str, name: str, *, namespace: str | None = None, wait: bool = False
    ) -> None:
        args = ["delete", kind, name, "--ignore-not-found", f"--wait={str(wait).lower()}"]
        if namespace:
            args += ["--namespace", namespace]
        self.kubectl(*args)

    def create_namespace(self, name: str) -> None:
        """Create a namespace and wait for its default ServiceAccount (pods need it)."""
        self.kubectl("create", "namespace", name)
        wait_until(
            lambda: self.get_or_none("serviceaccount", "default", namespace=name),
            timeout=60,
            description=f"ServiceAccount {name}/default",
        )

    def wait_for(
        self,
        kind: str,
        name: str,
        predicate: Callable[[Any], bool],
        *,
        namespace: str | None = None,
        timeout: float = 120,
        description: str | None = None,
    ) -> Any:
        """Poll one object until ``predicate(obj)`` holds; return the object.

        Raises:
            TimeoutError: with the object's last status in the message.
        """
        last: list[Any] = [None]

        def probe() -> Any:
            obj = self.get_or_none(kind, name, namespace=namespace)
            last[0] = obj
            return obj if obj is not None and predicate(obj) else None

        try:
            return wait_until(probe, timeout=timeout, description=description or f"{kind}/{name}")
        except TimeoutError as exc:
            status = (last[0] or {}).get("status")
            raise TimeoutError(f"{exc}; status: {json.dumps(status)[:2000]}") from None

    def wait_for_condition(
        self,
        kind: str,
        name: str,
        kind_of_condition: str,
        status: str = "True",
        *,
        namespace: str | None = None,
        timeout: float = 120,
    ) -> Any:
        """Poll until ``status.conditions[type=kind_of_condition].status == status``."""
        return self.wait_for(
            kind,
            name,
            lambda obj: condition_is(obj, kind_of_condition, status),
            namespace=namespace,
            timeout=timeout,
            description=f"{kind}/{name} condition {kind_of_condition}={status}",
        )
