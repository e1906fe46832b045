"""Champion against challenger on the same rows: a paired bootstrap and non-inferiority.

Both models score the same held-out rows; the rows are resampled together, so
each resample gives one difference (challenger less champion) per metric and
the spread of those differences is the comparison's own uncertainty, far
smaller than either metric's when the models agree on most rows. The
challenger is non-inferior on a metric when the lower end of the difference's
95% interval stays above minus the margin.

Recall and precision are compared at the challenger's alert volume: the
champion's threshold is moved to flag as many of the rows as the
challenger's own threshold flags. A threshold decides how many alerts a
model raises; whether it finds fraud better is a question at the same
number of alerts. At their own thresholds a champion whose threshold has
gone stale (after a shift it can flag ten times the rows at a fifth of the
precision) would out-recall every challenger that keeps the target
precision. Each model's own operating point is judged by the floors
(``ml.gates``), and both are reported.

The margin is a choice the configuration makes; what the split can resolve is
a fact of the data: a true difference of ``RESOLUTION_Z`` standard errors is
detected 80% of the time at this confidence. A margin below that makes an
equal challenger fail more often than one time in five, and the report says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.bootstrap import (
    CONFIDENCE,
    RESAMPLES,
    Scored,
    interval,
    point_metrics,
    resample,
    standard_error,
)
from ml.gates import COMPARED

# z of the two-sided 95% interval's lower end plus z of 80% power.
RESOLUTION_Z = 1.96 + 0.84
PAIRED = "paired stratified bootstrap"
UNPAIRED = "unpaired normal approximation from each evaluation's standard errors"


def compare_paired(
    y: np.ndarray,
    champion: Scored,
    challenger: Scored,
    margins: dict[str, float],
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """The difference in each compared metric, its interval and the non-inferiority verdict."""
    flagged = int(np.count_nonzero(np.asarray(challenger.score) >= challenger.threshold))
    matched = Scored(champion.score, volume_threshold(champion.score, flagged))
    old, new = resample(y, [matched, challenger], resamples, seed)
    before, after = point_metrics(y, matched), point_metrics(y, challenger)
    metrics = {}
    for name in COMPARED:
        differences = new[name] - old[name]
        low, high = interval(differences)
        metrics[name] = _metric(
            before[name], after[name], low, high, standard_error(differences), margins[name]
        )
    document = _document(PAIRED, int(np.size(y)), int(np.sum(y)), resamples, metrics)
    document["alert_volume"] = {
        "challenger_flagged": flagged,
        "champion_flagged_at_own_threshold": int(
            np.count_nonzero(np.asarray(champion.score) >= champion.threshold)
        ),
        "champion_threshold": float(champion.threshold),
        "champion_matched_threshold": float(matched.threshold),
    }
    return document


def volume_threshold(score: np.ndarray, flagged: int) -> float:
    """The threshold at which ``score`` flags ``flagged`` rows (ties at the cut all flag).

    Zero rows is a threshold above every score.
    """
    ordered = np.sort(np.asarray(score, dtype=np.float64))[::-1]
    if flagged <= 0 or ordered.size == 0:
        return float(np.nextafter(ordered[0], np.inf)) if ordered.size else 1.0
    return float(ordered[min(flagged, ordered.size) - 1])


def compare_unpaired(
    champion: dict[str, Any], challenger: dict[str, Any], margins: dict[str, float]
) -> dict[str, Any]:
    """The same verdict from two evaluation documents alone (no shared rows: wider, weaker)."""
    old = champion["binary_classification_metrics"]
    new = challenger["binary_classification_metrics"]
    metrics = {}
    for name in COMPARED:
        error = float(np.hypot(old[name]["standard_deviation"], new[name]["standard_deviation"]))
        difference = new[name]["value"] - old[name]["value"]
        metrics[name] = _metric(
            old[name]["value"],
            new[name]["value"],
            difference - 1.96 * error,
            difference + 1.96 * error,
            error,
            margins[name],
        )
    rows = challenger.get("evaluation", {})
    return _document(UNPAIRED, int(rows.get("rows", 0)), int(rows.get("positives", 0)), 0, metrics)


def _metric(
    champion: float, challenger: float, low: float, high: float, error: float, margin: float
) -> dict[str, Any]:
    resolution = RESOLUTION_Z * error
    return {
        "champion": champion,
        "challenger": challenger,
        "difference": challenger - champion,
        "low": low,
        "high": high,
        "standard_error": error,
        "margin": margin,
        "resolution": resolution,
        "resolvable": bool(margin >= resolution),
        "non_inferior": bool(low >= -margin),
    }


def _document(
    method: str, rows: int, positives: int, resamples: int, metrics: dict[str, Any]
) -> dict[str, Any]:
    return {
        "method": method,
        "confidence": CONFIDENCE,
        "resamples": resamples,
        "rows": rows,
        "positives": positives,
        "metrics": metrics,
        "non_inferior": all(m["non_inferior"] for m in metrics.values()),
    }
