"""OpenMP threads under CPU contention: serving latency and a job step's CPU, idle vs six busy.

Run: ``.venv/bin/python benchmarks/contention.py [--repeats N]``.

Serving: ``python -m ml.serve`` with its defaults (one worker per CPU, the CPUs
shared out as OpenMP threads) answers 100-row requests on one connection, with
the machine as it is (idle) and with six processes spinning on the CPUs (busy),
alternated. Target: busy median <= 10x idle median, no request timing out
(10 s). For contrast, the same server with OpenMP's own defaults: every worker
a thread per CPU (``--threads``), waiting threads spinning.

Job steps: a training run as a job step starts (the threads and wait policy
``ml.threads.job_environment`` gives it) against OpenMP's defaults, both beside
six busy processes: CPU seconds and wall time of the same training.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from harness import (
    ROOT,
    bench_model,
    busy_processes,
    describe_model,
    free_port,
    machine_note,
    running,
    section,
    span,
    verdict,
)
from serving import drive

BUSY = 6
MAX_SLOWDOWN = 10.0
TRAIN_ROWS = 50_000
TRAIN = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from ml.data import generate
from ml.train import TrainParams, train_model
frame = generate({TRAIN_ROWS}, 0)
wall, cpu = time.perf_counter(), time.process_time()
train_model(frame, None, TrainParams(max_iter=30, seed=1))
print(json.dumps({{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}}))
"""


def serving(model: Path, threads: int | None, repeats: int, seconds: float, body: Path) -> bool:
    """Idle and busy medians of one server configuration, alternated; whether the target holds.

    ``threads`` given: OpenMP's own defaults instead, a thread per CPU in every
    worker, waiting by spinning (``OMP_WAIT_POLICY=ACTIVE``).
    """
    port = free_port()
    command = [sys.executable, "-m", "ml.serve", "--model-dir", str(model), "--port", str(port)]
    label, env = "defaults", {}
    if threads is not None:
        command += ["--threads", str(threads)]
        label, env = f"--threads {threads}, spinning waits", {"OMP_WAIT_POLICY": "ACTIVE"}
    idle, busy, errors = [], [], 0
    with running(command, port, env):
        drive(port, body, 2, 1.0)
        for _ in range(repeats):
            quiet = drive(port, body, 1, seconds)
            with busy_processes(BUSY):
                loaded = drive(port, body, 1, seconds)
            idle.append(quiet["p50_ms"])
            busy.append(loaded["p50_ms"])
            errors += quiet["errors"] + loaded["errors"]
    slowdown = [b / i for i, b in zip(idle, busy, strict=True)]
    ok = median(slowdown) <= MAX_SLOWDOWN and errors == 0
    print(
        f"serve {label:<12} 100 rows: median idle {span(idle, '{:.1f}')} ms, "
        f"{BUSY} busy {span(busy, '{:.1f}')} ms, busy/idle {span(slowdown, '{:.1f}')}x "
        f"(target <= {MAX_SLOWDOWN:g}x, median), errors or timeouts {errors}: {verdict(ok)}",
        flush=True,
    )
    return ok


def train(env: dict[str, str]) -> dict[str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    completed = subprocess.run(
        [sys.executable, "-c", TRAIN],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def job_steps(repeats: int) -> None:
    from ml.threads import job_environment

    settings = job_environment()
    shown = " ".join(f"{k}={v}" for k, v in sorted(settings.items()) if k.startswith("OMP"))
    runs: dict[str, list[dict[str, float]]] = {"OpenMP defaults": [], shown: []}
    with busy_processes(BUSY):
        for repeat in range(repeats):
            order = [("OpenMP defaults", {}), (shown, settings)]
            for label, env in order if repeat % 2 == 0 else order[::-1]:
                runs[label].append(train(env))
    for label, results in runs.items():
        print(
            f"train {TRAIN_ROWS:,} rows beside {BUSY} busy, {label}: "
            f"CPU {span([r['cpu'] for r in results], '{:.1f}')} s, "
            f"wall {span([r['wall'] for r in results], '{:.1f}')} s",
            flush=True,
        )
    default_cpu = median(r["cpu"] for r in runs["OpenMP defaults"])
    print(
        f"job-step settings use {median(r['cpu'] for r in runs[shown]) / default_cpu:.2f}x the CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    from ml.data import generate
    from ml.schema import FEATURE_COLUMNS
    from ml.threads import container_cpus

    print(machine_note())
    model = bench_model()
    print(describe_model(model))
    section(f"serving under contention: {BUSY} busy processes on {container_cpus()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "100.csv"
        frame = generate(100, 3)[list(FEATURE_COLUMNS)]
        body.write_text(frame.to_csv(index=False, header=False))
        ok = serving(model, None, args.repeats, args.seconds, body)
        serving(model, container_cpus(), args.repeats, args.seconds, body)
    print(f"contention target (defaults): {verdict(ok)}")
    section(f"a job step's training beside {BUSY} busy processes")
    job_steps(max(2, args.repeats - 1))


if __name__ == "__main__":
    main()
