"""Benchmarks of the ML steps on generated data; prints the figures quoted in docs/ml.md.

Run with ``.venv/bin/python benchmarks/ml.py`` (``--quick`` trains on 200,000 rows).
The server test starts ``python -m ml.serve`` pinned to core 0 and drives it from
a client process pinned to core 1, on 127.0.0.1 only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATE = 200  # requests per second the server must hold
LOAD_SECONDS = 10
MAX_REQUESTS = 20_000


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def repeat(fn, runs: int) -> float:
    """Median wall time of fn over runs calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def section(title: str) -> None:
    print(f"\n== {title}")


def bench_generate_and_train(workdir: Path, rows: int) -> Path:
    from ml.data import generate
    from ml.io import write_table
    from ml.train import TrainParams, run_training

    section(f"generation and training, {rows:,} rows")
    frame, seconds = timed(generate, rows, 0)
    print(
        f"generate {rows:,} rows: {seconds:.2f} s (target for 1,000,000: < 10 s), "
        f"fraud rate {frame.is_fraud.mean():.3%}"
    )
    write_table(frame, workdir / "train.parquet")
    model_dir = workdir / "model"
    metadata, seconds = timed(
        run_training, workdir / "train.parquet", None, model_dir, TrainParams()
    )
    print(
        f"train on {rows:,} rows: {seconds:.1f} s ({metadata['training']['iterations']} trees), "
        f"validation PR AUC {metadata['validation_metrics']['pr_auc']:.3f}"
    )
    return model_dir


def bench_quality(model_dir: Path) -> None:
    from ml.data import DRIFT_SCENARIOS, generate
    from ml.evaluate import evaluate_scores, score_frame

    section("model quality on 200,000 fresh rows (seed 1) and on each drift scenario")
    for drift in (None, *DRIFT_SCENARIOS):
        y, score, threshold = score_frame(model_dir, generate(200_000, 1, drift))
        m = evaluate_scores(y, score, threshold)["binary_classification_metrics"]
        print(
            f"{drift or 'no drift':<24} PR AUC {m['pr_auc']['value']:.3f}  "
            f"ROC AUC {m['roc_auc']['value']:.3f}  "
            f"recall@90%prec {m['recall_at_precision_90']['value']:.3f}  "
            f"precision {m['precision']['value']:.3f}  recall {m['recall']['value']:.3f}  "
            f"calibration error {m['calibration_error']['value']:.4f}"
        )


def bench_handlers(model_dir: Path) -> None:
    from threadpoolctl import threadpool_limits

    from ml.data import generate
    from ml.inference import input_fn, model_fn, output_fn, predict_fn
    from ml.schema import FEATURE_COLUMNS

    section("inference: handler chain vs direct model call (one thread, as served)")
    loaded = model_fn(model_dir)
    frame = generate(1_000, 2)[list(FEATURE_COLUMNS)]
    with threadpool_limits(1):
        for rows, runs in ((1, 300), (1_000, 60)):
            batch = frame.head(rows)
            body = batch.to_csv(index=False, header=False).encode()
            direct = repeat(lambda b=batch: loaded.model.predict_proba(b), runs)
            handler = repeat(
                lambda b=body: output_fn(predict_fn(input_fn(b, "text/csv"), loaded), "text/csv"),
                runs,
            )
            print(
                f"{rows:>5} row(s): handler {handler * 1e3:.2f} ms, direct {direct * 1e3:.2f} ms, "
                f"overhead ratio {handler / direct:.2f}x"
                + (" (target < 1.5x)" if rows == 1_000 else "")
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_server(model_dir: Path) -> None:
    from ml.data import generate
    from ml.schema import FEATURE_COLUMNS

    section(
        f"server: {TARGET_RATE} req/s for {LOAD_SECONDS} s, one row per request, server on core 0"
    )
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            "-m",
            "ml.serve",
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        _wait_ready(port, server)
        body = generate(1, 3)[list(FEATURE_COLUMNS)].to_csv(index=False, header=False)
        _warm_up(port, body)
        for mode in ("rate", "max"):
            client = subprocess.run(
                ["taskset", "-c", "1", sys.executable, __file__, "--client", mode, str(port), body],
                capture_output=True, text=True, timeout=120, check=True,
            )  # fmt: skip
            result = json.loads(client.stdout)
            if mode == "rate":
                print(
                    f"offered {TARGET_RATE} req/s: achieved {result['rate']:.0f} req/s, "
                    f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                    f"errors {result['errors']} of {result['requests']} "
                    "(target p99 < 20 ms, no errors)"
                )
            else:
                print(
                    f"closed loop, 4 connections: {result['rate']:.0f} req/s, "
                    f"p99 {result['p99_ms']:.2f} ms, "
                    f"errors {result['errors']} of {result['requests']}"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _warm_up(port: int, body: str, requests: int = 200) -> None:
    """Send some requests first: the first ones pay for lazy imports and caches."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(requests):
        conn.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
        conn.getresponse().read()


def _wait_ready(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("server exited before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server not ready within 30 s")


def run_client(mode: str, port: int, body: str) -> dict[str, float]:
    """Load generator: paced at TARGET_RATE ('rate') or 4 threads flat out ('max')."""
    import threading

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}

    def send(conn: http.client.HTTPConnection, scheduled: float) -> None:
        try:
            conn.request("POST", "/invocations", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        with lock:
            latencies.append(time.perf_counter() - scheduled)
            errors[0] += 0 if ok else 1

    start = time.perf_counter()
    if mode == "rate":
        # Open loop: requests are due on a fixed schedule whatever the server does;
        # a pool of connections sends them, and latency counts from the due time,
        # so queueing behind a slow server shows up in the percentiles.
        total = min(TARGET_RATE * LOAD_SECONDS, MAX_REQUESTS)
        give_up = start + 3 * LOAD_SECONDS  # bounded in time even if the server falls behind
        due = iter(range(total))

        def paced() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            while True:
                with lock:
                    i = next(due, None)
                if i is None or time.perf_counter() > give_up:
                    return
                scheduled = start + i / TARGET_RATE
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                send(conn, scheduled)

        threads = [threading.Thread(target=paced) for _ in range(8)]
    else:
        stop = start + 5

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            while time.perf_counter() < stop and len(latencies) < MAX_REQUESTS:
                send(conn, time.perf_counter())

        threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors[0],
        "rate": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1e3,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1e3,
    }


def bench_drift() -> None:
    import numpy as np
    from scipy.stats import ks_2samp

    from ml import schema
    from ml.data import generate
    from ml.drift import build_baseline, compute_drift

    section("drift: 1,000,000 rows x all features")
    reference = generate(1_000_000, 0)
    current = generate(1_000_000, 1, "amount_shift")
    baseline, build_seconds = timed(build_baseline, reference)
    report, ours = timed(compute_drift, baseline, current)
    print(f"baseline from 1,000,000 rows: {build_seconds:.2f} s")
    print(
        f"drift of 1,000,000 rows x {len(report['features'])} features: {ours:.2f} s "
        "(target < 2 s), "
        f"status {report['summary']['status']}"
    )

    def scipy_drift() -> dict[str, tuple[float, float]]:
        out = {}
        for name in schema.NUMERIC_FEATURES:
            ref, cur = reference[name].to_numpy(), current[name].to_numpy()
            edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
            edges[0], edges[-1] = -np.inf, np.inf
            e = np.clip(np.histogram(ref, edges)[0] / ref.size, 1e-4, None)
            a = np.clip(np.histogram(cur, edges)[0] / cur.size, 1e-4, None)
            out[name] = (
                float(np.sum((a - e) * np.log(a / e))),
                float(ks_2samp(ref, cur).statistic),
            )
        for name in schema.CATEGORICAL_FEATURES:
            e_freq = reference[name].value_counts(normalize=True)
            a_freq = current[name].value_counts(normalize=True).reindex(e_freq.index, fill_value=0)
            e, a = np.clip(e_freq.to_numpy(), 1e-4, None), np.clip(a_freq.to_numpy(), 1e-4, None)
            out[name] = (float(np.sum((a - e) * np.log(a / e))), 0.0)
        return out

    reference_result, theirs = timed(scipy_drift)
    ks_gap = max(
        abs(report["features"][n]["cdf_distance"] - reference_result[n][1])
        for n in schema.NUMERIC_FEATURES
    )
    print(
        f"same drift with scipy.stats.ks_2samp + numpy PSI on the raw reference: {theirs:.2f} s "
        f"({theirs / ours:.1f}x slower); largest |KS difference| {ks_gap:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", nargs=3, metavar=("MODE", "PORT", "BODY"))
    parser.add_argument("--quick", action="store_true", help="train on 200,000 rows; skip drift")
    args = parser.parse_args()
    if args.client:
        mode, port, body = args.client
        print(json.dumps(run_client(mode, int(port), body)))
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = bench_generate_and_train(Path(tmp), 200_000 if args.quick else 1_000_000)
        if not args.quick:
            bench_quality(model_dir)
        bench_handlers(model_dir)
        bench_server(model_dir)
    if not args.quick:
        bench_drift()


if __name__ == "__main__":
    main()
