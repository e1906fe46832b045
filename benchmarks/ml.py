"""Benchmarks of the ML steps on generated data; prints the figures quoted in docs/ml.md.

Run with ``.venv/bin/python benchmarks/ml.py`` (``--quick`` trains on 200,000 rows).
The request handler and the server have their own side-by-side benchmarks
(``handlers.py``, ``serving.py``, ``contention.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


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
    parser.add_argument("--quick", action="store_true", help="train on 200,000 rows; skip drift")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = bench_generate_and_train(Path(tmp), 200_000 if args.quick else 1_000_000)
        if not args.quick:
            bench_quality(model_dir)
    if not args.quick:
        bench_drift()


if __name__ == "__main__":
    main()
