"""Binary-classification metrics for rare positives, in SageMaker's JSON shape.

Every metric is ``{"value": v, "standard_deviation": s}`` as SageMaker's model
quality reports write them. SageMaker takes the deviation over five 80%
subsamples (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html),
which understates a metric's sampling error two to five times on a few dozen
frauds; here it is the standard error from a stratified bootstrap
(``ml.bootstrap``), which also gives each metric's 95% interval.
Precision with nothing flagged is 0, as SageMaker reports it; the flagged
count beside it says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

TARGET_PRECISION = 0.9
CURVE_POINTS = 1000


def recall_at_precision(
    y: np.ndarray, score: np.ndarray, precision: float = TARGET_PRECISION
) -> float:
    """Highest recall reachable at or above the given precision (0 when unreachable).

    The best over all thresholds of the same rows: biased upward as an estimate
    of what a threshold chosen elsewhere achieves, so no gate reads it.
    """
    if y.sum() == 0:
        return 0.0
    prec, rec, _ = precision_recall_curve(y, score)
    ok = prec >= precision
    return float(rec[ok].max()) if ok.any() else 0.0


def calibration_error(y: np.ndarray, score: np.ndarray, bins: int = 20) -> float:
    """Expected calibration error over equal-count score bins (robust for rare positives)."""
    order = np.argsort(score, kind="stable")
    chunks = np.array_split(order, min(bins, max(1, y.shape[0])))
    total = y.shape[0]
    return float(sum(abs(score[c].mean() - y[c].mean()) * c.size / total for c in chunks if c.size))


def _safe_auc(
    fn: Callable[[np.ndarray, np.ndarray], float],
) -> Callable[[np.ndarray, np.ndarray], float]:
    def wrapped(y: np.ndarray, score: np.ndarray) -> float:
        if y.min() == y.max():
            return float("nan")
        return float(fn(y, score))

    return wrapped


def _point_metrics(threshold: float) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    def precision(y: np.ndarray, s: np.ndarray) -> float:
        flagged = s >= threshold
        return float(y[flagged].mean()) if flagged.any() else 0.0

    def recall(y: np.ndarray, s: np.ndarray) -> float:
        return float((s[y == 1] >= threshold).mean()) if y.any() else 0.0

    def f1(y: np.ndarray, s: np.ndarray) -> float:
        p, r = precision(y, s), recall(y, s)
        return 2 * p * r / (p + r) if p + r else 0.0

    def accuracy(y: np.ndarray, s: np.ndarray) -> float:
        return float(((s >= threshold) == (y == 1)).mean())

    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def binary_metrics(
    y: np.ndarray, score: np.ndarray, threshold: float, seed: int = 0
) -> dict[str, object]:
    """All metrics of one scored set, with bootstrap standard errors."""
    return metrics_with_intervals(y, score, threshold, seed)[0]


def metrics_with_intervals(
    y: np.ndarray, score: np.ndarray, threshold: float, seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``binary_metrics`` and the 95% bootstrap interval of each metric, from one resampling."""
    from ml.bootstrap import CONFIDENCE, RESAMPLES, Scored, interval, resample, standard_error

    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    functions: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "roc_auc": _safe_auc(roc_auc_score),
        "pr_auc": _safe_auc(average_precision_score),
        "recall_at_precision_90": recall_at_precision,
        "calibration_error": calibration_error,
        **_point_metrics(threshold),
    }
    both_classes = bool(y.size) and y.min() != y.max()
    spread = resample(y, [Scored(score, threshold)], RESAMPLES, seed)[0] if both_classes else {}
    out: dict[str, Any] = {}
    intervals: dict[str, list[float]] = {}
    for name, fn in functions.items():
        values = spread.get(name, np.array([]))
        out[name] = {"value": fn(y, score), "standard_deviation": standard_error(values)}
        intervals[name] = list(interval(values, CONFIDENCE))
    out["auc"] = out["roc_auc"]  # SageMaker's name for ROC AUC
    flagged = score >= threshold
    out["confusion_matrix"] = {
        "0": {"0": int((~flagged & (y == 0)).sum()), "1": int((flagged & (y == 0)).sum())},
        "1": {"0": int((~flagged & (y == 1)).sum()), "1": int((flagged & (y == 1)).sum())},
    }
    out["precision_recall_curve"] = pr_curve_steps(y, score)
    method = {"method": "stratified bootstrap", "confidence": CONFIDENCE, "resamples": RESAMPLES}
    return out, {**method, "metrics": intervals}


def pr_curve_steps(y: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """The PR curve's corners, one per recall level, in the order a step plot draws them.

    Each point is where a fraud is added as the threshold falls (the highest
    precision at that recall); drawn as steps (``steps-post``, recall falling),
    the area under them is PR AUC. More than ``CURVE_POINTS`` levels are thinned
    evenly in recall, never in row index.
    """
    if y.sum() == 0:
        return {"precisions": [], "recalls": []}
    prec, rec, _ = precision_recall_curve(y, score)
    corners = np.append(np.flatnonzero(rec[:-1] != rec[1:]), rec.size - 1)
    if corners.size > CURVE_POINTS:
        corners = corners[np.unique(np.linspace(0, corners.size - 1, CURVE_POINTS).astype(int))]
    return {
        "precisions": [round(float(v), 6) for v in prec[corners]],
        "recalls": [round(float(v), 6) for v in rec[corners]],
    }
