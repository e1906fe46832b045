"""Stratified bootstrap of ranking and operating-point metrics, vectorised over resamples.

A metric on a few dozen frauds is a draw, not a fact: its spread is what a
decision must beat. Rows are resampled with replacement within each class
(the number of frauds stays the one observed, so no resample lacks them), and
every metric of every resample comes from weighted cumulative sums over the
rows in score order: a thousand resamples of a 10,000-row split take well
under a second. Resampling the same rows for two models (``resample``) gives
the paired differences the champion comparison rests on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
CHUNK_CELLS = 2_000_000  # resamples x rows held in memory at once
CALIBRATION_BINS = 20
METRICS = (
    "pr_auc",
    "roc_auc",
    "recall_at_precision_90",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "calibration_error",
)


@dataclass(frozen=True)
class Scored:
    """One model's scores of the rows and its decision threshold."""

    score: np.ndarray
    threshold: float


def resample(
    y: np.ndarray, models: list[Scored], resamples: int = RESAMPLES, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Each metric of each model on the same ``resamples`` stratified resamples of the rows."""
    y = np.asarray(y, dtype=np.int64)
    views = [_View(y, m.score, m.threshold) for m in models]
    found: list[dict[str, list[np.ndarray]]] = [{name: [] for name in METRICS} for _ in models]
    for weights in _weights(y, resamples, seed):
        for view, out in zip(views, found, strict=True):
            for name, values in view.metrics(weights).items():
                out[name].append(values)
    return [{name: np.concatenate(parts) for name, parts in out.items()} for out in found]


def point_metrics(y: np.ndarray, model: Scored) -> dict[str, float]:
    """Every metric of one model on the rows as they are (each row drawn once)."""
    y = np.asarray(y, dtype=np.int64)
    values = _View(y, model.score, model.threshold).metrics(np.ones((1, y.size)))
    return {name: float(value[0]) for name, value in values.items()}


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of resampled values (undefined resamples left out)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def standard_error(values: np.ndarray) -> float:
    """The standard deviation of resampled values: the metric's standard error."""
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


def _weights(y: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Chunks of resample weights (how often each row is drawn), stratified by class."""
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(y == label) for label in (0, 1)]
    chunk = max(1, CHUNK_CELLS // max(1, y.size))
    for start in range(0, resamples, chunk):
        count = min(chunk, resamples - start)
        weights = np.zeros((count, y.size), dtype=np.float32)
        for rows in classes:
            if rows.size:
                drawn = rng.integers(0, rows.size, (count, rows.size), dtype=np.int32)
                for resampled, picks in zip(weights, drawn, strict=True):
                    resampled[rows] = np.bincount(picks, minlength=rows.size)
        yield weights


class _View:
    """One model's rows in descending score order, with what its metrics read of them.

    Only the tie groups that hold a fraud move the PR and ROC curves, so the
    per-resample work beyond one running count of drawn rows is on frauds only.
    """

    def __init__(self, y: np.ndarray, score: np.ndarray, threshold: float) -> None:
        score = np.asarray(score, dtype=np.float64)
        self.order = np.argsort(-score, kind="stable")
        ordered = score[self.order]
        self.positive_columns = np.flatnonzero(y[self.order] == 1)
        # Tie groups holding a fraud: where each starts and ends, frauds up to its end.
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        group = np.searchsorted(starts, self.positive_columns, side="right") - 1
        held = np.unique(group)
        self.group_starts = starts[held]
        self.group_ends = np.r_[starts[1:], ordered.size][held] - 1
        self.frauds_to_end = np.searchsorted(self.positive_columns, self.group_ends, side="right")
        # Rows at or above the threshold are a prefix of the order.
        self.cut = int(np.searchsorted(-ordered, -threshold, side="right"))
        self.frauds_to_cut = int(np.searchsorted(self.positive_columns, self.cut, side="left"))
        # Equal-count calibration bins in ascending score order; a row's score in its bin's column.
        sizes = [b.size for b in np.array_split(np.arange(ordered.size), CALIBRATION_BINS)]
        bounds = np.cumsum([0, *sizes[::-1]])
        self.bin_ends = bounds[1:][bounds[1:] > bounds[:-1]] - 1
        bins = np.searchsorted(self.bin_ends, np.arange(ordered.size), side="left")
        self.bin_scores = np.zeros((ordered.size, self.bin_ends.size), dtype=np.float32)
        self.bin_scores[np.arange(ordered.size), bins] = ordered

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric for each row of ``weights`` (resamples x rows, in input row order)."""
        w = np.take(weights, self.order, axis=1)
        drawn = np.cumsum(w, axis=1)  # exact in float32 up to 16 million rows
        frauds = np.cumsum(w[:, self.positive_columns], axis=1, dtype=np.float64)
        frauds = np.hstack([np.zeros((w.shape[0], 1)), frauds])
        tp = frauds[:, self.frauds_to_end]
        fp = drawn[:, self.group_ends] - tp
        before = np.where(self.group_starts > 0, drawn[:, self.group_starts - 1], 0.0)
        positives, total = frauds[:, -1], drawn[:, -1].astype(np.float64)
        negatives = total - positives
        gained = np.diff(tp, axis=1, prepend=0.0)
        tied_negatives = fp - (before - (tp - gained))
        flagged = drawn[:, self.cut - 1] if self.cut else np.zeros(w.shape[0])
        caught = frauds[:, self.frauds_to_cut]
        with np.errstate(divide="ignore", invalid="ignore"):
            precision_curve = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 0.0)
            below = negatives[:, None] - fp + tied_negatives / 2
            return {
                "pr_auc": (gained * precision_curve).sum(axis=1) / positives,
                "roc_auc": (gained * below).sum(axis=1) / (positives * negatives),
                "recall_at_precision_90": np.where(precision_curve >= 0.9, tp, 0.0).max(
                    axis=1, initial=0.0
                )
                / positives,
                "precision": caught / flagged,
                "recall": caught / positives,
                "f1": 2 * caught / (flagged + positives),
                "accuracy": (caught + negatives - (flagged - caught)) / total,
                "calibration_error": self._calibration_error(w, frauds, total),
            }

    def _calibration_error(
        self, w: np.ndarray, frauds: np.ndarray, total: np.ndarray
    ) -> np.ndarray:
        """Weighted expected calibration error over the fixed equal-count score bins."""
        scored = w @ self.bin_scores
        caught = frauds[:, np.searchsorted(self.positive_columns, self.bin_ends, side="right")]
        gap = scored - np.diff(caught, axis=1, prepend=0.0)
        return np.abs(gap).sum(axis=1) / total
