"""Data drift between a training baseline and a batch: PSI, KS statistic and Wasserstein distance.

The baseline (``ml.drift_baseline``) is a JSON document saved next to the
model: per numeric feature, the training distribution and its PSI bins; per
categorical feature, category frequencies. A batch is compared against it
without the training data: each column is counted and ordered once
(``ml.distributions``), and PSI, the exact KS statistic (``cdf_distance``)
and the Wasserstein distance all come from that one pass. Three rules keep an
hourly window of healthy traffic quiet:

- a batch of fewer than ``min_rows`` rows is "insufficient data": it is
  reported as such and no PSI is computed (PSI on a few dozen rows is noise);
- a feature that is a function of the clock (``hour``) is compared only when
  the batch covers all 24 hours of the day; an hour-long window holds one clock
  hour, which is no drift;
- binary and low-cardinality features are binned on their values.

The batch is a table or an endpoint's data capture (``ml.capture``), and the
result is what the drift publisher turns into CloudWatch metrics.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import INFERENCE_TIME
from ml.distributions import Distribution, ks_and_wasserstein
from ml.drift_baseline import (
    HOURS_PER_DAY,
    DriftInputError,
    finite_values,
    reference_distribution,
)
from ml.drift_baseline import build_baseline as build_baseline  # the step's public API
from ml.drift_baseline import load_baseline as load_baseline
from ml.errors import MlopsError
from ml.options import parse
from ml.step_options import DriftOptions
from ml.step_options import Thresholds as Thresholds  # declared with the step's options

if TYPE_CHECKING:
    from ml.capture import CaptureBatch
    from ml.window import Window

__all__ = [
    "DriftInputError",
    "Thresholds",
    "build_baseline",
    "capture_drift",
    "compute_drift",
    "load_baseline",
    "psi",
    "run_drift",
]

EPSILON = 1e-4
OTHER = "__other__"
MAX_LISTED_LINES = 100  # malformed capture lines named in a report; all are counted
INSUFFICIENT_DATA = "insufficient_data"


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two proportion vectors (floored at EPSILON)."""
    e = np.clip(expected, EPSILON, None)
    a = np.clip(actual, EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def clock_hours(frame: pd.DataFrame) -> int | None:
    """How many of the day's 24 clock hours the batch's rows were made in (None: unknown).

    Captured traffic knows each request's ``inference_time``; a table its event time.
    """
    for column in (INFERENCE_TIME, schema.TIME_COLUMN):
        if column in frame.columns and len(frame):
            times = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
            return int(times.dt.hour.nunique()) if len(times) else None
    return None


def compute_drift(
    baseline: dict[str, Any],
    frame: pd.DataFrame,
    thresholds: Thresholds | None = None,
    *,
    min_rows: int = 0,
    hours_covered: int | None = None,
) -> dict[str, Any]:
    """Per-feature drift of a batch against the baseline, with a summary.

    ``hours_covered`` is how many clock hours the batch spans (default: read from
    its times); clock features are left out below 24. Below ``min_rows`` rows
    the summary's status is ``insufficient_data`` and no feature is compared.
    """
    limits = thresholds or Thresholds()
    missing = [
        c for c in (*baseline["numeric"], *baseline["categorical"]) if c not in frame.columns
    ]
    if missing:
        raise DriftInputError(
            f"batch lacks columns {', '.join(missing)}; it must follow the schema"
        )
    report: dict[str, Any] = {
        "rows": len(frame),
        "min_rows": min_rows,
        "thresholds": {"psi_warn": limits.psi_warn, "psi_alarm": limits.psi_alarm},
    }
    if len(frame) < max(min_rows, 1):
        summary = {"status": INSUFFICIENT_DATA, "drifted_features": []}
        return {**report, "summary": summary, "features": {}, "not_compared": {}}
    hours = clock_hours(frame) if hours_covered is None else hours_covered
    skipped = {
        name: f"a function of the clock, and the batch covers {hours} of 24 clock hours"
        for name in baseline.get("clock_features", [])
        if hours is not None and hours < HOURS_PER_DAY
    }
    features: dict[str, Any] = {}
    for name, base in baseline["numeric"].items():
        if name not in skipped:
            features[name] = _numeric_drift(base, frame[name])
    for name, base in baseline["categorical"].items():
        features[name] = _categorical_drift(base, frame[name])
    for result in features.values():
        result["status"] = _status(result["psi"], limits)
    return {
        **report,
        "summary": _summary(features, limits),
        "features": features,
        "not_compared": skipped,
    }


def _summary(features: dict[str, Any], limits: Thresholds) -> dict[str, Any]:
    max_psi = max(r["psi"] for r in features.values())
    return {
        "status": _status(max_psi, limits),
        "max_psi": max_psi,
        "max_psi_feature": max(features, key=lambda n: features[n]["psi"]),
        "max_cdf_distance": max(r["cdf_distance"] for r in features.values()),
        "drifted_features": sorted(n for n, r in features.items() if r["status"] != "ok"),
    }


def _numeric_drift(base: dict[str, Any], column: pd.Series) -> dict[str, Any]:
    current = Distribution.of(finite_values(column))
    edges = np.asarray(base["edges"], dtype=float)
    actual = current.bin_counts(edges) / max(current.total, 1)
    ks, wasserstein = ks_and_wasserstein(reference_distribution(base), current)
    return {
        "type": "numeric",
        "psi": psi(np.asarray(base["proportions"]), actual),
        "cdf_distance": ks if current.total else 1.0,
        "wasserstein": wasserstein if current.total else None,
        "exact_reference": bool(base.get("exact", False)),
        "null_fraction": float(1 - current.total / max(len(column), 1)),
    }


def _categorical_drift(base: dict[str, Any], column: pd.Series) -> dict[str, Any]:
    known = base["frequencies"]
    freq = column.astype(str).value_counts(normalize=True, sort=False)
    current = {str(k): float(v) for k, v in freq.items()}
    unseen = sorted(k for k in current if k not in known)
    names = [*known, OTHER]
    expected = np.array([known.get(n, 0.0) for n in names])
    actual = np.array([current.get(n, 0.0) for n in known] + [sum(current[k] for k in unseen)])
    return {
        "type": "categorical",
        "psi": psi(expected, actual),
        "cdf_distance": float(np.max(np.abs(np.cumsum(actual) - np.cumsum(expected)))),
        "unseen_categories": unseen,
        "unseen_fraction": float(actual[-1]),
    }


def _status(value: float, limits: Thresholds) -> str:
    if value >= limits.psi_alarm:
        return "alarm"
    if value >= limits.psi_warn:
        return "warn"
    return "ok"


def read_current(
    current: Path, capture: bool | None = None, window: Window | None = None
) -> tuple[pd.DataFrame, CaptureBatch | None]:
    """The batch to compare: a table, or endpoint capture (auto-detected unless capture says)."""
    from ml.capture import is_capture_path, read_capture
    from ml.io import read_table

    if capture is None:
        capture = is_capture_path(current)
    if capture:
        batch = read_capture(current, window)
        return batch.frame, batch
    if window is not None and (window.start is not None or window.end is not None):
        raise DriftInputError(
            f"{current}: a time window selects capture files, and this is a table; "
            "drop the window or pass --capture"
        )
    return read_table(current), None


def run_drift(
    baseline_path: Path,
    current: Path,
    thresholds: Thresholds | None = None,
    *,
    capture: bool | None = None,
    window: Window | None = None,
    quarantine: Path | None = None,
    min_rows: int = 0,
) -> dict[str, Any]:
    """Drift of a table or of captured traffic, with what was read under ``input``.

    Capture lines that cannot be read are counted in the report and, with a
    quarantine directory, copied there with their reasons; the rest are compared.
    """
    baseline = load_baseline(baseline_path)
    frame, batch = read_current(current, capture, window)
    if batch is not None and not len(batch.frame):
        raise DriftInputError(
            f"{current}: no capture line could be read ({len(batch.bad_lines)} malformed); "
            "see the quarantined lines for the reasons"
            if batch.bad_lines
            else f"{current}: the capture files hold no events in the window; widen it"
        )
    if batch is None:
        report = compute_drift(baseline, frame, thresholds, min_rows=min_rows)
        report["input"] = {"kind": "table", "path": str(current), "rows": len(frame)}
        return report
    return capture_drift(
        baseline,
        batch,
        current,
        thresholds,
        window=window,
        quarantine=quarantine,
        min_rows=min_rows,
    )


def capture_drift(
    baseline: dict[str, Any],
    batch: CaptureBatch,
    current: Path,
    thresholds: Thresholds | None = None,
    *,
    window: Window | None = None,
    quarantine: Path | None = None,
    min_rows: int = 0,
) -> dict[str, Any]:
    """Drift of captured traffic already read, with what was read under ``input``."""
    from ml.capture import quarantine_lines

    report = compute_drift(baseline, batch.frame, thresholds, min_rows=min_rows)
    kept = quarantine_lines(batch.bad_lines, quarantine) if quarantine is not None else []
    report["input"] = {
        "kind": "capture",
        "path": str(current),
        **batch.summary(),
        "window": window.describe() if window is not None else None,
        "quarantined_files": [str(p) for p in kept],
        "malformed": [b.describe() for b in batch.bad_lines[:MAX_LISTED_LINES]],
    }
    return report


def run_step(options: DriftOptions) -> dict[str, Any]:
    """Drift as ``python -m ml.drift`` and ``mlops drift`` run it; the report goes to ``out``."""
    report = run_drift(
        options.baseline,
        options.current,
        options.thresholds,
        capture=options.capture,
        window=options.reading.window(),
        quarantine=options.reading.quarantine,
        min_rows=options.min_rows,
    )
    if options.out is not None:
        from ml.io import write_atomic

        options.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(options.out, json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    """Processing entry point: compare captured data (or a table) with the model's baseline."""
    options = parse(DriftOptions, argv, "Compute drift of a batch against a baseline.")
    try:
        report = run_step(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({**report["summary"], "input": _input_counts(report["input"])}))
    return 0


def _input_counts(source: dict[str, Any]) -> dict[str, Any]:
    return {
        k: source[k] for k in ("kind", "files", "events", "rows", "malformed_lines") if k in source
    }


if __name__ == "__main__":
    sys.exit(main())
