"""Operator benchmark: time to Ready, throughput, memory and idle CPU, against a floor.

``python -m bench operator [--kubeconfig PATH] [--quick] [--sizes 50,200] [--latency 20]``.
Starts its own local control plane (or uses ``--kubeconfig``), then measures, with the
**default platform** (``spec: {version}`` and nothing else: managed PostgreSQL and Redis,
migrations, two API pods, a worker, the default `analyzer` model server; KServe
InferenceServices where its CRD is installed, reported Ready by the control plane's
simulated KServe controller):

1. the floor: the children the builders produce for each platform, server-side applied by a
   plain client in a loop with no operator running, until they are ready (Deployments
   available, StatefulSets ready, Job complete, InferenceServices Ready) - what Kubernetes
   itself needs;
2. the operator (``python -m journal_operator`` subprocess): time from applying a
   JournalPlatform to Ready=True, one at a time (p50/p95), and throughput when N platforms are
   applied at once (platforms/min until all are Ready);
3. the operator's RSS and idle CPU (from /proc) with the throughput platforms present.

Writes ``bench/results/operator-<timestamp>.{json,md}`` and ``operator-latest.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import functools
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from journal_operator import secrets_gen, spec
from journal_operator.builders import plan
from journal_operator.k8s import apply as k8s
from journal_operator.k8s import client as k8s_client

from tests.support import platforms
from tests.support.cluster import LocalCluster, wait_until
from tests.support.operator_process import OperatorProcess

RESULTS = Path(__file__).resolve().parent / "results"
SPEC_NOTE = (
    "the default platform: managed PostgreSQL and Redis, migrations, 2 API pods, 1 worker, "
    "the analyzer model server"
)
NAMESPACES_PER_RUN = 5
IDLE_SECONDS = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench operator {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# -- cluster helpers ------------------------------------------------------------------------


def default_platform(name: str, namespace: str) -> dict[str, Any]:
    """A JournalPlatform with nothing but its version: every default applies."""
    return {
        "apiVersion": platforms.API_VERSION,
        "kind": platforms.KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"version": "1.0.0"},
    }


def kserve_installed(cluster: LocalCluster) -> bool:
    found = cluster.kubectl("get", "--raw", "/apis/serving.kserve.io/v1beta1", check=False)
    return found.returncode == 0


def new_namespaces(cluster: LocalCluster, prefix: str, count: int) -> list[str]:
    names = [f"{prefix}-{uuid.uuid4().hex[:5]}" for _ in range(count)]
    for ns in names:
        cluster.create_namespace(ns)
    return names


def drop_namespaces(cluster: LocalCluster, namespaces: Iterable[str]) -> None:
    """Delete the namespaces and wait until they are gone (`wait_gone`)."""
    namespaces = list(namespaces)
    for ns in namespaces:
        cluster.kubectl("delete", "journalplatform", "--all", "-n", ns, "--wait=false", check=False)
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    wait_gone(cluster, namespaces)


def wait_gone(cluster: LocalCluster, namespaces: Iterable[str], timeout: float = 900) -> None:
    """Until the namespaces (and so everything in them) are deleted: each phase starts on
    an empty cluster, not beside the previous phase's teardown."""
    left = set(namespaces)
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        left &= {ns["metadata"]["name"] for ns in cluster.items("namespace")}
        if left:
            time.sleep(2)
    if left:
        log(f"warning: {len(left)} namespaces still terminating after {timeout:.0f}s")


def ready_platforms(cluster: LocalCluster, namespaces: Iterable[str]) -> int:
    return sum(
        platforms.is_ready(o)
        for ns in namespaces
        for o in cluster.items("journalplatform", namespace=ns)
    )


def floor_ready(cluster: LocalCluster, namespaces: Iterable[str]) -> int:
    """Platforms whose plainly applied children are ready.

    Deployments available, StatefulSets ready, the Job complete, InferenceServices Ready.
    """
    ready = 0
    for ns in namespaces:
        workloads = cluster.items("deployment", namespace=ns) + cluster.items(
            "statefulset", namespace=ns
        )
        jobs = cluster.items("job", namespace=ns)
        by_owner: dict[str, bool] = {}
        for d in workloads:
            owner = d["metadata"]["labels"]["app.kubernetes.io/instance"]
            want = d["spec"].get("replicas")
            want = 1 if want is None else want
            count = d["status"].get("availableReplicas", d["status"].get("readyReplicas")) or 0
            by_owner[owner] = by_owner.get(owner, True) and count >= want
        if FLOOR_MODE["inference"] == "kserve":
            for isvc in cluster.items("inferenceservices.serving.kserve.io", namespace=ns):
                owner = isvc["metadata"]["labels"]["app.kubernetes.io/instance"]
                by_owner[owner] = by_owner.get(owner, True) and platforms.is_ready(isvc)
        for j in jobs:
            owner = j["metadata"]["labels"]["app.kubernetes.io/instance"]
            done = any(
                c["type"] == "Complete" and c["status"] == "True"
                for c in j["status"].get("conditions") or []
            )
            by_owner[owner] = by_owner.get(owner, True) and done
        ready += sum(by_owner.values())
    return ready


def wait_count(probe: Callable[[], int], total: int, *, what: str, timeout: float) -> float:
    """Poll ``probe`` until it reaches ``total``; return the seconds it took."""
    started = time.monotonic()
    last = [-1]

    def done() -> bool:
        count = probe()
        if count != last[0]:
            log(f"  {what}: {count}/{total} ready ({time.monotonic() - started:.0f}s)")
            last[0] = count
        return count >= total

    wait_until(done, timeout=timeout, interval=1.0, description=what)
    return time.monotonic() - started


# -- the floor: the same objects, applied by a plain client ----------------------------------


# How the floor runs the model servers: as the operator would (set once the cluster is known).
FLOOR_MODE: dict[str, plan.InferenceMode] = {"inference": "deployment"}


def floor_manifests(name: str, namespace: str) -> list[dict[str, Any]]:
    """Every child the builders produce for one platform, without owner references."""
    body = default_platform(name, namespace)
    body["metadata"]["uid"] = str(uuid.uuid4())
    p = spec.parse(body)
    values = secrets_gen.combine(
        database_data=None, jwt_data=None, need_database=True, cache_data=None, need_cache=True
    )
    groups = plan.desired_children(
        p,
        secrets=values,
        version=p.spec.version,
        migrate=True,
        inference_mode=FLOOR_MODE["inference"],
    )
    manifests = []
    for manifest in plan.flatten(groups):
        manifest = copy.deepcopy(manifest)
        manifest["metadata"].pop("ownerReferences", None)  # no owner: nothing to collect them
        manifests.append(manifest)
    return manifests


async def apply_floor(kubeconfig: Path, batches: list[list[dict[str, Any]]]) -> None:
    client = await k8s_client.connect(str(kubeconfig))
    try:
        for manifests in batches:
            for manifest in manifests:
                await k8s.apply(client, manifest)
    finally:
        await k8s_client.close(client)


def _at_least(cluster: LocalCluster, namespace: str, count: int) -> bool:
    return floor_ready(cluster, [namespace]) >= count


def _platform_ready(cluster: LocalCluster, namespace: str, name: str) -> bool:
    return platforms.is_ready(cluster.get("journalplatform", name, namespace=namespace))


def floor_latency(cluster: LocalCluster, count: int) -> list[float]:
    (ns,) = new_namespaces(cluster, "floor-lat", 1)
    times = []
    for i in range(count):
        started = time.monotonic()
        asyncio.run(apply_floor(cluster.kubeconfig, [floor_manifests(f"f{i}", ns)]))
        wait_until(
            functools.partial(_at_least, cluster, ns, i + 1),
            timeout=300,
            interval=0.2,
            description=f"floor platform {i}",
        )
        times.append(time.monotonic() - started)
        log(f"  floor latency {i + 1}/{count}: {times[-1]:.1f}s")
    drop_namespaces(cluster, [ns])
    return times


def floor_throughput(cluster: LocalCluster, total: int) -> float:
    namespaces = new_namespaces(cluster, f"floor-{total}", NAMESPACES_PER_RUN)
    batches = [floor_manifests(f"f{i}", namespaces[i % len(namespaces)]) for i in range(total)]
    started = time.monotonic()
    asyncio.run(apply_floor(cluster.kubeconfig, batches))
    wait_count(
        lambda: floor_ready(cluster, namespaces), total, what=f"floor x{total}", timeout=1800
    )
    elapsed = time.monotonic() - started
    drop_namespaces(cluster, namespaces)
    return elapsed


# -- the operator ---------------------------------------------------------------------------


def operator_latency(cluster: LocalCluster, count: int) -> tuple[float, list[float]]:
    """The first platform after the operator started (its watches still being set up), then
    ``count`` platforms one at a time with the operator warm."""
    (ns,) = new_namespaces(cluster, "op-lat", 1)
    times = []
    for i in range(count + 1):
        started = time.monotonic()
        cluster.apply(default_platform(f"p{i}", ns))
        wait_until(
            functools.partial(_platform_ready, cluster, ns, f"p{i}"),
            timeout=300,
            interval=0.2,
            description=f"platform {i} Ready",
        )
        times.append(time.monotonic() - started)
        log(f"  operator latency {i}/{count}: {times[-1]:.1f}s" + (" (first)" if not i else ""))
    drop_namespaces(cluster, [ns])
    return times[0], times[1:]


def operator_throughput(cluster: LocalCluster, total: int) -> tuple[float, list[str]]:
    namespaces = new_namespaces(cluster, f"op-{total}", NAMESPACES_PER_RUN)
    bodies = [default_platform(f"p{i}", namespaces[i % len(namespaces)]) for i in range(total)]
    started = time.monotonic()
    for start in range(0, total, 50):
        cluster.apply(bodies[start : start + 50])
    elapsed = wait_count(
        lambda: ready_platforms(cluster, namespaces), total, what=f"operator x{total}", timeout=1800
    )
    del elapsed  # measured from the first apply, not from the first poll
    return time.monotonic() - started, namespaces


def process_usage(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds used so far) of a process, from /proc."""
    rss_kib = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    return rss_kib / 1024, cpu


def idle_usage(pid: int, seconds: float) -> dict[str, float]:
    rss_before, cpu_before = process_usage(pid)
    time.sleep(seconds)
    rss_after, cpu_after = process_usage(pid)
    return {
        "rss_mib": round(max(rss_before, rss_after), 1),
        "idle_cpu_percent": round(100 * (cpu_after - cpu_before) / seconds, 2),
        "window_seconds": seconds,
    }


# -- report ---------------------------------------------------------------------------------


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "mean": round(statistics.fmean(values), 2),
        "n": len(values),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def write_report(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    lat, flat = result["latency_seconds"]["operator"], result["latency_seconds"]["floor"]
    lines = [
        "# Operator benchmark",
        "",
        f"{result['started']} · {result['machine']} · spec: {result['spec_note']}",
        "",
        "| Measure | Operator | Floor (plain client) | Overhead |",
        "|---|---|---|---|",
        f"| Apply → Ready, p50 (s) | {lat['p50']} | {flat['p50']} | "
        f"{ratio(lat['p50'], flat['p50'])}x |",
        f"| Apply → Ready, p95 (s) | {lat['p95']} | {flat['p95']} | "
        f"{ratio(lat['p95'], flat['p95'])}x |",
    ]
    for size, row in result["throughput"].items():
        lines.append(
            f"| {size} platforms at once (platforms/min) | {row['operator_per_min']} | "
            f"{row['floor_per_min']} | {ratio(row['floor_per_min'], row['operator_per_min'])}x |"
        )
    idle = result["idle"]
    lines += [
        "",
        f"The first platform after the operator started took "
        f"{result['latency_seconds']['operator_first_after_start']} s (not in the percentiles).",
        "",
        f"Operator with {idle['platforms']} platforms: RSS {idle['rss_mib']} MiB, idle CPU "
        f"{idle['idle_cpu_percent']}% of one core over {idle['window_seconds']:.0f} s.",
        "",
        "Overhead = operator time / floor time (throughput: floor rate / operator rate). The "
        "floor applies the same builder output with no ordering (Job and API together), so "
        "part of the overhead is the operator's migrate-then-roll ordering, by design.",
    ]
    text = "\n".join(lines) + "\n"
    for stem in (f"operator-{stamp}", "operator-latest"):
        (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / f"{stem}.md").write_text(text)
    print(text)
    return RESULTS / f"operator-{stamp}.md"


def run(
    cluster: LocalCluster, *, latency_count: int, sizes: list[int], workdir: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs",
        "spec_note": SPEC_NOTE,
        "latency_seconds": {},
        "throughput": {},
    }
    FLOOR_MODE["inference"] = "kserve" if kserve_installed(cluster) else "deployment"
    result["inference_mode"] = FLOOR_MODE["inference"]
    log(f"floor: {latency_count} platforms one at a time")
    result["latency_seconds"]["floor"] = summarize(floor_latency(cluster, latency_count))
    floor_rates = {}
    for size in sizes:
        log(f"floor: {size} platforms at once")
        floor_rates[size] = floor_throughput(cluster, size)

    operator = OperatorProcess(cluster.kubeconfig, workdir / "operator.log")
    log("starting the operator")
    operator.start()
    try:
        log(f"operator: {latency_count} platforms one at a time")
        first, warm = operator_latency(cluster, latency_count)
        result["latency_seconds"]["operator"] = summarize(warm)
        result["latency_seconds"]["operator_first_after_start"] = round(first, 2)
        idle: dict[str, Any] = {}
        for size in sizes:
            log(f"operator: {size} platforms at once")
            elapsed, namespaces = operator_throughput(cluster, size)
            result["throughput"][str(size)] = {
                "operator_seconds": round(elapsed, 1),
                "operator_per_min": round(60 * size / elapsed, 1),
                "floor_seconds": round(floor_rates[size], 1),
                "floor_per_min": round(60 * size / floor_rates[size], 1),
            }
            if not idle:
                log(f"operator: idle with {size} platforms ({IDLE_SECONDS:.0f}s)")
                time.sleep(5)  # let the last status writes settle
                idle = {"platforms": size, **idle_usage(operator.pid, IDLE_SECONDS)}
            drop_namespaces(cluster, namespaces)
        result["idle"] = idle
        result["operator_metrics"] = {
            "reconciles": operator.metric("journal_operator_reconciles_total"),
            "child_applies": operator.metric("journal_operator_child_applies_total"),
        }
    finally:
        operator.stop()
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench operator")
    parser.add_argument("--kubeconfig", type=Path, help="use this cluster instead of starting one")
    parser.add_argument("--quick", action="store_true", help="5 latency samples, 10/20 at once")
    parser.add_argument("--sizes", help="comma list of platforms applied at once (idle: first)")
    parser.add_argument("--latency", type=int, help="platforms applied one at a time")
    args = parser.parse_args(argv)
    latency_count, sizes = (5, [10, 20]) if args.quick else (20, [50, 200])
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    if args.latency:
        latency_count = args.latency
    workdir = Path(tempfile.mkdtemp(prefix="journal-bench-op-"))
    if args.kubeconfig:
        cluster = LocalCluster.existing(args.kubeconfig)
        started = False
    else:
        log("starting a local control plane (hack/cluster/up.sh)")
        cluster = LocalCluster(name=f"journal-bench-{os.getpid()}")
        cluster.start(workdir / "cluster")
        started = True
    try:
        result = run(cluster, latency_count=latency_count, sizes=sizes, workdir=workdir)
        path = write_report(result)
        log(f"wrote {path} and operator-latest.*")
    finally:
        if started:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
