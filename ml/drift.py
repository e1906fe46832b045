"""Data drift between a training baseline and a batch: PSI and CDF distance per feature.

The baseline is a small JSON document saved next to the model: per numeric
feature, decile bin edges with their proportions and a 101-point quantile grid;
per categorical feature, category frequencies. A batch is compared against it
without the training data, with vectorised binning (``np.searchsorted`` and
``np.bincount``), so a million rows take well under a second per feature.
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
from ml.errors import MlopsError
from ml.model_artifact import BASELINE_FILE, read_file
from ml.options import parse
from ml.step_options import DriftOptions
from ml.step_options import Thresholds as Thresholds  # declared with the step's options

if TYPE_CHECKING:
    from ml.capture import CaptureBatch
    from ml.window import Window

PSI_BINS = 10
CDF_POINTS = 101
EPSILON = 1e-4
OTHER = "__other__"
BASELINE_VERSION = 1
MAX_LISTED_LINES = 100  # malformed capture lines named in a report; all are counted


class DriftInputError(MlopsError):
    """A baseline or batch that drift cannot compare (wrong file, missing columns)."""


def build_baseline(frame: pd.DataFrame) -> dict[str, Any]:
    """Summarise the training data's feature distributions for later comparison."""
    numeric: dict[str, Any] = {}
    for name in schema.NUMERIC_FEATURES:
        values = _finite(frame[name])
        inner = np.unique(np.quantile(values, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=inner.size + 1)
        grid = np.unique(np.quantile(values, np.linspace(0, 1, CDF_POINTS)))
        numeric[name] = {
            "edges": inner.tolist(),
            "proportions": (counts / max(values.size, 1)).tolist(),
            "cdf_points": grid.tolist(),
            "cdf": _cdf_at(grid, values).tolist(),
            "null_fraction": float(1 - values.size / max(len(frame), 1)),
        }
    categorical: dict[str, Any] = {}
    for name in schema.CATEGORICAL_FEATURES:
        freq = frame[name].astype(str).value_counts(normalize=True, sort=False)
        categorical[name] = {"frequencies": {str(k): float(v) for k, v in freq.items()}}
    return {
        "version": BASELINE_VERSION,
        "rows": len(frame),
        "numeric": numeric,
        "categorical": categorical,
    }


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two proportion vectors (floored at EPSILON)."""
    e = np.clip(expected, EPSILON, None)
    a = np.clip(actual, EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def compute_drift(
    baseline: dict[str, Any], frame: pd.DataFrame, thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """Per-feature PSI and CDF distance of a batch against the baseline, with a summary."""
    limits = thresholds or Thresholds()
    missing = [
        c for c in (*baseline["numeric"], *baseline["categorical"]) if c not in frame.columns
    ]
    if missing:
        raise DriftInputError(
            f"batch lacks columns {', '.join(missing)}; it must follow the schema"
        )
    features: dict[str, Any] = {}
    for name, base in baseline["numeric"].items():
        features[name] = _numeric_drift(base, frame[name])
    for name, base in baseline["categorical"].items():
        features[name] = _categorical_drift(base, frame[name])
    for result in features.values():
        result["status"] = _status(result["psi"], limits)
    drifted = sorted(n for n, r in features.items() if r["status"] != "ok")
    max_psi = max(r["psi"] for r in features.values())
    return {
        "rows": len(frame),
        "thresholds": {"psi_warn": limits.psi_warn, "psi_alarm": limits.psi_alarm},
        "summary": {
            "status": _status(max_psi, limits),
            "max_psi": max_psi,
            "max_psi_feature": max(features, key=lambda n: features[n]["psi"]),
            "max_cdf_distance": max(r["cdf_distance"] for r in features.values()),
            "drifted_features": drifted,
        },
        "features": features,
    }


def _numeric_drift(base: dict[str, Any], column: pd.Series) -> dict[str, Any]:
    values = _finite(column)
    edges = np.asarray(base["edges"], dtype=float)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    actual = counts / max(values.size, 1)
    # CDF distance on the baseline's quantile grid: the KS statistic to 1/100 resolution.
    grid = np.asarray(base["cdf_points"], dtype=float)
    distance = (
        np.max(np.abs(_cdf_at(grid, values) - np.asarray(base["cdf"]))) if values.size else 1.0
    )
    return {
        "type": "numeric",
        "psi": psi(np.asarray(base["proportions"]), actual),
        "cdf_distance": float(distance),
        "null_fraction": float(1 - values.size / max(len(column), 1)),
    }


def _cdf_at(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fraction of values <= each grid point, by one binning pass."""
    counts = np.bincount(np.searchsorted(grid, values, side="left"), minlength=grid.size + 1)
    return np.cumsum(counts)[:-1] / max(values.size, 1)


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


def _finite(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _status(value: float, limits: Thresholds) -> str:
    if value >= limits.psi_alarm:
        return "alarm"
    if value >= limits.psi_warn:
        return "warn"
    return "ok"


def load_baseline(path: Path) -> dict[str, Any]:
    """Read a baseline JSON, from a file or a model directory (or its tarball) holding one."""
    data = read_file(path, BASELINE_FILE)
    if data is None:
        raise DriftInputError(f"{path}: no drift baseline here; train a model to create one")
    try:
        baseline = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DriftInputError(
            f"{path}: not a drift baseline JSON; pass the model's {BASELINE_FILE}"
        ) from None
    if not isinstance(baseline, dict) or {"numeric", "categorical"} - baseline.keys():
        raise DriftInputError(f"{path}: not a drift baseline; pass the model's {BASELINE_FILE}")
    return baseline


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
        report = compute_drift(baseline, frame, thresholds)
        report["input"] = {"kind": "table", "path": str(current), "rows": len(frame)}
        return report
    return capture_drift(baseline, batch, current, thresholds, window=window, quarantine=quarantine)


def capture_drift(
    baseline: dict[str, Any],
    batch: CaptureBatch,
    current: Path,
    thresholds: Thresholds | None = None,
    *,
    window: Window | None = None,
    quarantine: Path | None = None,
) -> dict[str, Any]:
    """Drift of captured traffic already read, with what was read under ``input``."""
    from ml.capture import quarantine_lines

    report = compute_drift(baseline, batch.frame, thresholds)
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
