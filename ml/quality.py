"""Model quality in production: captured predictions joined with the labels that arrived.

Labels (``ml.labels``) are joined with the captured scores, and recall,
precision and PR AUC are measured at the model's decision threshold, as the
evaluation gate measures them. What the report claims is limited by what the
counts support:

- a metric is reported only when it is defined and rests on at least
  ``min_positives`` frauds (recall, PR AUC) or flagged rows (precision), and
  only when at least ``min_label_coverage`` of the predictions have a label;
  otherwise its value is None with the reason, never 0.0;
- each value has its 95% interval;
- with the serving model's evaluation as the reference
  (``ml.quality_reference``), recall and precision are tested for a drop from
  their evaluated values, and recall per merchant category for a gap that
  opened since the evaluation (``ml.quality_stats``); the tests' z values are
  what the alarms watch.

The quality job chooses which predictions to judge: those old enough for
their labels to have arrived (``pipelines/jobs/quality.py``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import SCORE
from ml.errors import MlopsError
from ml.labels import SEGMENT, QualityInputError, join_labels
from ml.labels import prepare_labels as prepare_labels  # the label contract lives in ml.labels
from ml.model_artifact import METADATA_FILE, read_file
from ml.options import parse
from ml.quality_reference import load_reference, quality_changes
from ml.quality_stats import wilson_interval
from ml.step_options import QUALITY_FILE as QUALITY_FILE  # the report's default name
from ml.step_options import QualityOptions

if TYPE_CHECKING:
    from ml.window import Window

__all__ = [
    "MIN_SEGMENT_POSITIVES",
    "QUALITY_FILE",
    "QualityInputError",
    "QualityLimits",
    "compute_quality",
    "join_labels",
    "load_threshold",
    "prepare_labels",
    "segment_recall",
]

HEADLINE = ("precision", "recall", "pr_auc")
# Below this many frauds a segment's recall is too noisy to compare.
MIN_SEGMENT_POSITIVES = QualityOptions.min_segment_positives


@dataclass(frozen=True)
class QualityLimits:
    """What a window needs before a metric is reported: frauds, flagged rows, label coverage."""

    min_positives: int = QualityOptions.min_positives
    min_segment_positives: int = QualityOptions.min_segment_positives
    min_label_coverage: float = QualityOptions.min_label_coverage


def segment_recall(
    frame: pd.DataFrame, threshold: float, min_positives: int = MIN_SEGMENT_POSITIVES
) -> dict[str, Any]:
    """Recall per merchant category and the largest gap between categories with enough frauds.

    The raw gap is descriptive only: categories differ in how well fraud can
    be caught in them, so the alarm watches change from the evaluated gaps.
    """
    if SEGMENT not in frame.columns:
        raise QualityInputError(
            f"no {SEGMENT} in the captured rows or the labels; add it to the labels"
        )
    segments: dict[str, Any] = {}
    for name, group in frame.groupby(frame[SEGMENT].astype(str), sort=True):
        fraud = group[group[schema.LABEL_COLUMN] == 1]
        caught = int((fraud[SCORE] >= threshold).sum())
        segments[str(name)] = {
            "rows": len(group),
            "positives": len(fraud),
            "recall": caught / len(fraud) if len(fraud) else None,
        }
    compared = {
        n: s["recall"]
        for n, s in segments.items()
        if s["positives"] >= min_positives and s["recall"] is not None
    }
    gap: dict[str, Any] = {"value": None, "highest": None, "lowest": None}
    if len(compared) >= 2:
        highest, lowest = (
            max(compared, key=compared.__getitem__),
            min(compared, key=compared.__getitem__),
        )
        gap = {
            "value": compared[highest] - compared[lowest],
            "highest": highest,
            "lowest": lowest,
        }
    return {
        "segment": SEGMENT,
        "min_positives": min_positives,
        "segments": segments,
        "recall_gap": gap,
    }


def _measured(successes: int, trials: int, needed: int, what: str, gate: str | None) -> dict:
    """A proportion with its interval, or None and the reason it is not reported."""
    reason = gate
    if reason is None and trials < max(needed, 1):
        reason = f"{trials} {what}, fewer than the {needed} needed"
    return {
        "value": None if reason else successes / trials,
        "interval": None if reason else wilson_interval(successes, trials),
        "successes": successes,
        "trials": trials,
        "reason": reason,
    }


def _pr_auc(y: np.ndarray, score: np.ndarray, needed: int, gate: str | None) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score

    positives = int(y.sum())
    reason = gate
    if reason is None and (positives < max(needed, 1) or positives == y.size):
        reason = f"{positives} frauds of {y.size} rows; PR AUC needs {needed} and a legitimate row"
    value = None if reason else float(average_precision_score(y, score))
    return {"value": value, "trials": positives, "reason": reason}


def compute_quality(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    threshold: float,
    *,
    limits: QualityLimits | None = None,
    reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The quality report of captured predictions against their labels.

    With ``reference`` (``ml.quality_reference``) it also tests for drops from
    the evaluated recall, precision and per-category gaps.
    """
    from ml.metrics import binary_metrics

    limits = limits or QualityLimits()
    if SCORE not in predictions.columns:
        raise QualityInputError(f"predictions lack the {SCORE} column; pass captured traffic")
    matched, counts = join_labels(predictions, labels)
    if not len(matched):
        raise QualityInputError(
            f"no label matched a captured prediction ({counts['unmatched_labels']} labels, "
            f"{counts['unmatched_predictions']} predictions); check that event_id is the "
            "capture's eventId and the time window covers the labelled traffic"
        )
    y = matched[schema.LABEL_COLUMN].to_numpy(dtype=np.int64)
    score = matched[SCORE].to_numpy(dtype=np.float64)
    flagged = score >= threshold
    caught = int((flagged & (y == 1)).sum())
    coverage = counts["matched"] / (counts["matched"] + counts["unmatched_predictions"])
    gate = (
        f"label coverage {coverage:.3f} is below {limits.min_label_coverage:g}"
        if coverage < limits.min_label_coverage
        else None
    )
    needed = limits.min_positives
    measured = {
        "recall": _measured(caught, int(y.sum()), needed, "frauds", gate),
        "precision": _measured(caught, int(flagged.sum()), needed, "flagged rows", gate),
        "pr_auc": _pr_auc(y, score, needed, gate),
    }
    bias = segment_recall(matched, threshold, limits.min_segment_positives)
    report = {
        "summary": {name: measured[name]["value"] for name in HEADLINE},
        "metrics": measured,
        "decision_threshold": threshold,
        "rows": counts["matched"],
        "positives": int(y.sum()),
        "flagged": int(flagged.sum()),
        "label_coverage": coverage,
        "limits": {
            "min_positives": limits.min_positives,
            "min_segment_positives": limits.min_segment_positives,
            "min_label_coverage": limits.min_label_coverage,
        },
        "join": counts,
        "binary_classification_metrics": _honest(binary_metrics(y, score, threshold), measured),
        "bias": bias,
        "reference": reference,
        "changes": None,
    }
    if reference is not None and gate is None:
        report["changes"] = _changes(measured, bias, matched, threshold, reference, limits)
    return report


def _honest(metrics: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """binary_metrics with None where a point metric is undefined (it writes 0.0 there)."""
    for name in ("precision", "recall"):
        if not measured[name]["trials"]:
            metrics[name] = {"value": None, "standard_deviation": None}
    if metrics["precision"]["value"] is None or metrics["recall"]["value"] is None:
        metrics["f1"] = {"value": None, "standard_deviation": None}
    return metrics


def _changes(
    measured: dict[str, Any],
    bias: dict[str, Any],
    matched: pd.DataFrame,
    threshold: float,
    reference: dict[str, Any],
    limits: QualityLimits,
) -> dict[str, Any]:
    counts = {
        name: (measured[name]["successes"], measured[name]["trials"])
        for name in ("recall", "precision")
        if measured[name]["value"] is not None
    }
    caught = matched[SCORE] >= threshold
    fraud = matched[schema.LABEL_COLUMN] == 1
    segments = {}
    for name, item in bias["segments"].items():
        if item["positives"] >= limits.min_segment_positives:
            inside = (matched[SEGMENT].astype(str) == name) & fraud
            segments[name] = (int((inside & caught).sum()), int(item["positives"]))
    return quality_changes(
        counts, segments, reference, limits.min_positives, limits.min_segment_positives
    )


def load_threshold(path: Path) -> float:
    """The decision threshold from a model's metadata (a file, a model dir, or its tarball)."""
    data = read_file(path, METADATA_FILE)
    if data is None:
        raise _no_threshold(path)
    try:
        return float(json.loads(data)["decision_threshold"])
    except KeyError:
        raise _no_threshold(path) from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError):
        raise QualityInputError(
            f"{path}: not a model {METADATA_FILE}; pass the model directory"
        ) from None


def _no_threshold(path: Path) -> QualityInputError:
    return QualityInputError(
        f"{path}: no {METADATA_FILE} with a decision_threshold; pass the serving model's "
        "directory or --threshold"
    )


def run_quality(
    capture: Path,
    labels: Path,
    threshold: float,
    out: Path,
    *,
    window: Window | None = None,
    quarantine: Path | None = None,
    limits: QualityLimits | None = None,
    evaluation: Path | None = None,
) -> dict[str, Any]:
    """Read capture and labels, write the quality report (and any refused capture lines).

    ``evaluation`` is the serving model's evaluation.json: the reference of the drop tests.
    """
    from ml.capture import quarantine_lines, read_capture
    from ml.io import read_table, write_atomic

    batch = read_capture(capture, window)
    reference = load_reference(evaluation) if evaluation is not None else None
    report = compute_quality(
        batch.frame, read_table(labels), threshold, limits=limits, reference=reference
    )
    kept = quarantine_lines(batch.bad_lines, quarantine) if quarantine is not None else []
    report["capture"] = {
        **batch.summary(),
        "window": window.describe() if window is not None else None,
        "quarantined_files": [str(p) for p in kept],
        "malformed": [b.describe() for b in batch.bad_lines[:100]],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps(report, indent=2))
    return report


def run_step(options: QualityOptions) -> dict[str, Any]:
    """Quality as ``python -m ml.quality`` and ``mlops quality`` run it; the report goes to ``out``.

    The decision threshold is ``--threshold``, else the serving model's.
    """
    threshold = options.threshold
    if threshold is None:
        if options.model_dir is None:
            raise QualityInputError("pass --model-dir (the serving model) or --threshold")
        threshold = load_threshold(options.model_dir)
    return run_quality(
        options.capture,
        options.labels,
        threshold,
        options.out,
        window=options.reading.window(),
        quarantine=options.reading.quarantine,
        limits=QualityLimits(
            options.min_positives, options.min_segment_positives, options.min_label_coverage
        ),
        evaluation=options.evaluation,
    )


def main(argv: list[str] | None = None) -> int:
    """Processing entry point: quality of captured predictions against ground-truth labels."""
    options = parse(QualityOptions, argv, "Join labels with captured predictions.")
    try:
        report = run_step(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({**report["summary"], "recall_gap": report["bias"]["recall_gap"]["value"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
