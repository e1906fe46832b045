"""The decision threshold: chosen on held-out scores with enough frauds, never silently.

The served model flags a transaction when its score reaches the threshold, so
the threshold is as much a decision as the model. It is the lowest score at
which the held-out rows reach the target precision with at least
``MIN_FLAGGED_POSITIVES`` frauds flagged (a precision measured on two or three
frauds is noise). When the scores hold too few frauds, or no threshold
reaches the target, the threshold falls back to flagging as many rows as
there are frauds, and says so: the gates refuse a model whose threshold fell
back, and the reason is in its metadata.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

METHOD = "target_precision"
MIN_FLAGGED_POSITIVES = 10


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and the evidence it was chosen on."""

    threshold: float
    method: str
    target_precision: float
    scores: str  # where the scores came from: "validation" or "out_of_fold"
    rows: int
    positives: int
    flagged: int
    flagged_positives: int
    precision: float  # on the scores it was chosen on
    recall: float
    fallback: bool
    reason: str  # why it fell back; empty when it did not

    def as_dict(self) -> dict[str, Any]:
        """The choice as the model's metadata records it."""
        return asdict(self)


def choose_threshold(
    y: np.ndarray, score: np.ndarray, target_precision: float, min_positives: int, scores: str
) -> ThresholdChoice:
    """The lowest threshold reaching ``target_precision`` on enough frauds, else a fallback."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    positives = int(y.sum())
    if positives < min_positives:
        return _fallback(
            y,
            score,
            target_precision,
            scores,
            f"{positives} frauds in the {scores} scores; choosing a threshold needs "
            f"{min_positives}",
        )
    precision, recall, thresholds = precision_recall_curve(y, score)
    caught = np.rint(recall[:-1] * positives)
    reached = np.flatnonzero(
        (precision[:-1] >= target_precision) & (caught >= MIN_FLAGGED_POSITIVES)
    )
    if reached.size == 0:
        best = float(precision[:-1][caught >= MIN_FLAGGED_POSITIVES].max(initial=0.0))
        return _fallback(
            y,
            score,
            target_precision,
            scores,
            f"no threshold reaches {target_precision:.0%} precision with at least "
            f"{MIN_FLAGGED_POSITIVES} frauds flagged (best {best:.0%})",
        )
    return _choice(y, score, float(thresholds[reached[0]]), target_precision, scores)


def _fallback(
    y: np.ndarray, score: np.ndarray, target_precision: float, scores: str, reason: str
) -> ThresholdChoice:
    """Flag as many rows as there are frauds: a usable threshold that the gates refuse."""
    count = min(max(int(y.sum()), 1), score.size)
    threshold = float(np.sort(score)[-count])
    return _choice(y, score, threshold, target_precision, scores, reason)


def _choice(
    y: np.ndarray,
    score: np.ndarray,
    threshold: float,
    target_precision: float,
    scores: str,
    reason: str = "",
) -> ThresholdChoice:
    flagged = score >= threshold
    caught = int((flagged & (y == 1)).sum())
    positives = int(y.sum())
    return ThresholdChoice(
        threshold=threshold,
        method=METHOD,
        target_precision=target_precision,
        scores=scores,
        rows=int(y.size),
        positives=positives,
        flagged=int(flagged.sum()),
        flagged_positives=caught,
        precision=caught / int(flagged.sum()) if flagged.any() else 0.0,
        recall=caught / positives if positives else 0.0,
        fallback=bool(reason),
        reason=reason,
    )
