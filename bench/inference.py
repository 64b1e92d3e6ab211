"""`python -m bench inference`: model server throughput and latency, with two in-run references.

Scenarios: the `analyzer` model over V2 REST, one ~60-word journal text per request, at
concurrency 1, 8 and 32, with micro-batching on and off. References measured in the same run:
(a) the naive server the original design implies (one transformers pipeline per task, per
request, torch fp32; needs the training environment) and (b) the encoder's compute limit, a
batch-32 forward pass of the served ONNX graph timed in-process. Aims (reported, never
asserted): batched throughput at concurrency 8 ≥ 3x (a)'s, and ≥ 0.8 of (b). Quality: the
model card's dev macro-F1 per task beside BERT-base's. Results: bench/results/inference-*.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from journal_inference import artifact, runtime

from tests.support import ports
from tests.support.inference import InferenceServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CONCURRENCY = (1, 8, 32)
PATH = "/v2/models/analyzer/infer"
SENTENCES = (
    "Woke up early and went for a long walk by the river before work.",
    "The meeting with my manager went better than I expected and I feel relieved.",
    "I keep worrying about money and the rent is due next week.",
    "Had dinner with my sister and we laughed about our childhood for hours.",
    "I snapped at my partner this morning and I feel guilty about it.",
    "Finally finished the first draft of my thesis chapter, what a relief.",
    "Couldn't sleep again, my mind kept racing about the deadline.",
    "The weather was grey all day and I did not feel like doing anything.",
    "A stranger helped me carry my groceries and it made my whole day.",
    "I am nervous about the doctor's appointment on Friday.",
)


def log(message: str) -> None:
    print(f"[bench inference] {message}", file=sys.stderr, flush=True)


def journal_texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(SENTENCES, 4)) for _ in range(count)]  # ~60 words each


def scenario(name: str, texts: list[str], *, connections: int, requests: int) -> dict[str, Any]:
    return {
        "name": name,
        "method": "POST",
        "connections": connections,
        "requests": requests,
        "warmup": min(requests // 4, 40),
        "paths": [PATH] * len(texts),
        "bodies": [
            {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [t]}]}
            for t in texts
        ],
    }


def run_load(port: int, scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        cwd=ROOT,
        check=True,
        text=True,
        input=json.dumps({"host": "127.0.0.1", "port": port, "scenarios": scenarios}),
        stdout=subprocess.PIPE,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def compute_limit(texts: list[str], rounds: int = 5) -> float:
    """Texts/s of batch-32 forward passes of the served graph, in this process."""
    art = artifact.load(artifact.bundled())
    analyzer = runtime.Analyzer(art, threads=len(os.sched_getaffinity(0)))
    analyzer.run(texts[:32])
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(0, 128, 32):
            analyzer.run(texts[i : i + 32])
        rates.append(128 / (time.perf_counter() - started))
    return statistics.median(rates)


@contextlib.contextmanager
def naive_server(base: Path) -> Iterator[int | None]:
    """Reference (a), when the training environment (torch) can be had."""
    result = subprocess.run(
        ["bash", str(ROOT / "hack" / "train-env.sh")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        log("no training environment (torch): reference (a) is skipped")
        yield None
        return
    port = ports.free_port()
    with (base / "naive.log").open("wb") as out:
        # As a module from the repository root: run as a script, bench/ would shadow the
        # standard library's `operator` with bench/operator.py.
        process = subprocess.Popen(
            [result.stdout.strip(), "-m", "bench.naive_pipelines", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while not ports.port_is_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log(f"reference (a) did not start; see {base / 'naive.log'}")
                yield None
                return
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(requests: int) -> dict[str, Any]:
    texts = journal_texts(256)
    base = Path(tempfile.mkdtemp(prefix="journal-bench-inference-"))
    results: list[dict[str, Any]] = []
    for batching in (True, False):
        label = "batching on" if batching else "batching off"
        server = InferenceServer(
            base / f"{label}.log", env={"JOURNAL_INFERENCE_BATCHING": str(batching).lower()}
        )
        log(f"starting the model server ({label})")
        server.start()
        try:
            plan = [
                scenario(
                    f"server, {label}, concurrency {c}",
                    texts,
                    connections=c,
                    requests=requests * max(1, c // 4),
                )
                for c in CONCURRENCY
            ]
            results += run_load(server.http_port, plan)
        finally:
            server.stop()
    with naive_server(base) as port:
        if port is not None:
            log("reference (a): naive pipelines server")
            results += run_load(
                port,
                [
                    scenario(
                        f"(a) naive pipelines, concurrency {c}",
                        texts,
                        connections=c,
                        requests=max(40, requests // 2),
                    )
                    for c in (1, 8)
                ],
            )
    log("reference (b): batch-32 forward passes in-process")
    limit = compute_limit(texts)
    return report(results, limit)


def report(results: list[dict[str, Any]], limit: float) -> dict[str, Any]:
    by_name = {r["name"]: r for r in results}
    naive8 = by_name.get("(a) naive pipelines, concurrency 8")
    for r in results:
        r["texts_per_s"] = r["rps"]  # one text per request
        r["ratio_to_compute_limit"] = round(r["rps"] / limit, 3)
        if naive8:
            r["ratio_to_naive_c8"] = round(r["rps"] / naive8["rps"], 2)
    batched8 = by_name["server, batching on, concurrency 8"]
    best = max(r["rps"] for r in results if r["name"].startswith("server"))
    card = json.loads((artifact.bundled() / artifact.CARD_FILE).read_text())
    aims = {
        "batched c8 >= 3x naive c8": None if not naive8 else batched8["rps"] >= 3 * naive8["rps"],
        "batched c8 >= 0.8 of the compute limit": batched8["rps"] >= 0.8 * limit,
        "best server >= 0.8 of the compute limit": best >= 0.8 * limit,
    }
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "compute_limit_texts_per_s": round(limit, 1),
        "scenarios": results,
        "aims": aims,
        "quality": {
            t: {
                "macro_f1": card["metrics"][t]["macro_f1"],
                "bert_base": card["reference"]["bert_base"][t],
            }
            for t in ("emotion", "ekman", "sentiment")
        },
        "artifact": {"version": card["version"], "precision": card["served_precision"]},
    }


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"# Inference benchmark — {doc['timestamp']}",
        "",
        f"`analyzer` over V2 REST, one ~60-word text per request, {doc['machine']['cpus']} CPUs"
        f" shared with the load generator; artifact {doc['artifact']['version']} "
        f"({doc['artifact']['precision']}). Reference (b), batch-32 forward passes "
        f"in-process: **{doc['compute_limit_texts_per_s']} texts/s**.",
        "",
        "| scenario | texts/s | p50 ms | p95 ms | vs (b) | vs (a) c8 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in doc["scenarios"]:
        lines.append(
            f"| {r['name']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['ratio_to_compute_limit']:.2f} | {r.get('ratio_to_naive_c8', '—')} |"
        )
    lines += ["", "Aims (reported, not asserted):", ""]
    lines += [
        f"- {a}: {'not measured' if ok is None else 'met' if ok else 'NOT met'}"
        for a, ok in doc["aims"].items()
    ]
    lines += ["", "| task | dev macro-F1 (cross-fitted) | BERT-base (paper) |", "|---|---:|---:|"]
    lines += [
        f"| {t} | {q['macro_f1']:.3f} | {q['bert_base']:.2f} |" for t, q in doc["quality"].items()
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench inference")
    parser.add_argument("--quick", action="store_true", help="fewer requests per scenario")
    args = parser.parse_args(argv)
    doc = run(requests=60 if args.quick else 200)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"inference-{stamp}", "inference-latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(markdown(doc))
    print(markdown(doc))
    log(f"results written to {RESULTS / 'inference-latest.md'}")


if __name__ == "__main__":
    main()
