"""Binary-classification metrics for rare positives, in SageMaker's JSON shape.

Every metric is ``{"value": v, "standard_deviation": s}`` as SageMaker's model
quality reports write them; the deviation comes, like SageMaker's, from the
metric on five random 80% subsamples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

TARGET_PRECISION = 0.9
CURVE_POINTS = 101


def recall_at_precision(
    y: np.ndarray, score: np.ndarray, precision: float = TARGET_PRECISION
) -> float:
    """Highest recall reachable at or above the given precision (0 when unreachable)."""
    if y.sum() == 0:
        return 0.0
    prec, rec, _ = precision_recall_curve(y, score)
    ok = prec >= precision
    return float(rec[ok].max()) if ok.any() else 0.0


def threshold_at_precision(
    y: np.ndarray, score: np.ndarray, precision: float = TARGET_PRECISION
) -> float:
    """Lowest score threshold whose precision reaches the target; 0.5 when none does."""
    if y.sum() == 0:
        return 0.5
    prec, _, thresholds = precision_recall_curve(y, score)
    ok = np.flatnonzero(prec[:-1] >= precision)
    return float(thresholds[ok[0]]) if ok.size else 0.5


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
    """All metrics of one scored set, with subsample standard deviations."""
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    functions: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "roc_auc": _safe_auc(roc_auc_score),
        "pr_auc": _safe_auc(average_precision_score),
        "recall_at_precision_90": recall_at_precision,
        "calibration_error": calibration_error,
        **_point_metrics(threshold),
    }
    rng = np.random.default_rng(seed)
    samples = [rng.choice(y.shape[0], int(0.8 * y.shape[0]), replace=False) for _ in range(5)]
    out: dict[str, object] = {}
    for name, fn in functions.items():
        value = fn(y, score)
        spread = [fn(y[i], score[i]) for i in samples] if y.shape[0] >= 200 else []
        out[name] = {
            "value": value,
            "standard_deviation": float(np.std(spread)) if spread else float("nan"),
        }
    out["auc"] = out["roc_auc"]  # SageMaker's name for ROC AUC
    flagged = score >= threshold
    out["confusion_matrix"] = {
        "0": {"0": int((~flagged & (y == 0)).sum()), "1": int((flagged & (y == 0)).sum())},
        "1": {"0": int((~flagged & (y == 1)).sum()), "1": int((flagged & (y == 1)).sum())},
    }
    out["precision_recall_curve"] = _pr_curve(y, score)
    return out


def _pr_curve(y: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """The PR curve thinned to at most CURVE_POINTS points, for reports and plots."""
    if y.sum() == 0:
        return {"precisions": [], "recalls": []}
    prec, rec, _ = precision_recall_curve(y, score)
    keep = np.unique(np.linspace(0, prec.shape[0] - 1, CURVE_POINTS).astype(int))
    return {
        "precisions": [round(float(v), 6) for v in prec[keep]],
        "recalls": [round(float(v), 6) for v in rec[keep]],
    }
