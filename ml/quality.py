"""Model quality in production: captured predictions joined with ground-truth labels.

Labels arrive later than predictions (a chargeback takes weeks), as a table
with ``event_id`` (the capture's ``eventMetadata.eventId``), ``is_fraud`` and,
for requests of several rows, ``event_row`` (the row's position in the
request; 0 when absent). They are joined with the captured scores, and the
metrics are those of ``ml.metrics.binary_metrics`` at the model's decision
threshold, so production quality and the evaluation gate speak the same
language. Recall is also reported per merchant category, with the largest gap
between categories (the bias signal). Unmatched labels and predictions are
counted, never silently ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import EVENT_ID, EVENT_ROW, SCORE
from ml.errors import MlopsError
from ml.model_artifact import METADATA_FILE, read_file
from ml.options import parse
from ml.step_options import QUALITY_FILE as QUALITY_FILE  # the report's default name
from ml.step_options import QualityOptions

if TYPE_CHECKING:
    from ml.window import Window

SEGMENT = "merchant_category"
HEADLINE = ("precision", "recall", "pr_auc")
# Below this many frauds a segment's recall is too noisy to compare.
MIN_SEGMENT_POSITIVES = QualityOptions.min_positives


class QualityInputError(MlopsError):
    """Labels or model metadata that the quality job cannot use."""


def prepare_labels(labels: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Check the label columns, default ``event_row`` to 0, drop repeated labels (keep the last)."""
    missing = [c for c in (EVENT_ID, schema.LABEL_COLUMN) if c not in labels.columns]
    if missing:
        raise QualityInputError(
            f"labels lack {', '.join(missing)}; they need event_id (the capture's eventId) "
            f"and {schema.LABEL_COLUMN}"
        )
    frame = labels.copy()
    if EVENT_ROW not in frame.columns:
        frame[EVENT_ROW] = 0
    frame[EVENT_ID] = frame[EVENT_ID].astype(str)
    frame[EVENT_ROW] = pd.to_numeric(frame[EVENT_ROW], errors="coerce")
    label = pd.to_numeric(frame[schema.LABEL_COLUMN], errors="coerce")
    bad = frame[EVENT_ROW].isna() | ~label.isin([0, 1])
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise QualityInputError(
            f"label row {first + 1}: {schema.LABEL_COLUMN} must be 0 or 1 and {EVENT_ROW} a "
            f"whole number, got {labels.iloc[first][schema.LABEL_COLUMN]!r}"
        )
    frame[EVENT_ROW] = frame[EVENT_ROW].astype(np.int64)
    frame[schema.LABEL_COLUMN] = label.astype(np.int64)
    deduplicated = frame.drop_duplicates([EVENT_ID, EVENT_ROW], keep="last")
    return deduplicated, len(frame) - len(deduplicated)


def join_labels(
    predictions: pd.DataFrame, labels: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Labelled predictions (joined on event id and row) and counts of what did not match."""
    prepared, duplicates = prepare_labels(labels)
    keys = [EVENT_ID, EVENT_ROW]
    keep = [c for c in prepared.columns if c in (*keys, schema.LABEL_COLUMN)]
    if SEGMENT in prepared.columns and SEGMENT not in predictions.columns:
        keep.append(SEGMENT)
    left = predictions.drop(columns=[schema.LABEL_COLUMN], errors="ignore")
    unique = left.drop_duplicates(keys, keep="last")  # a capture line read twice counts once
    joined = unique.merge(prepared[keep], on=keys, how="outer", indicator=True, validate="1:1")
    counts = {
        "matched": int((joined["_merge"] == "both").sum()),
        "unmatched_predictions": int((joined["_merge"] == "left_only").sum()),
        "unmatched_labels": int((joined["_merge"] == "right_only").sum()),
        "duplicate_labels": duplicates,
        "duplicate_predictions": len(left) - len(unique),
    }
    matched = joined[joined["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    matched[schema.LABEL_COLUMN] = matched[schema.LABEL_COLUMN].astype(np.int64)
    return matched, counts


def segment_recall(
    frame: pd.DataFrame, threshold: float, min_positives: int = MIN_SEGMENT_POSITIVES
) -> dict[str, Any]:
    """Recall per merchant category and the largest gap between categories with enough frauds."""
    if SEGMENT not in frame.columns:
        raise QualityInputError(
            f"no {SEGMENT} in the captured rows or the labels; add it to the labels"
        )
    segments: dict[str, Any] = {}
    for name, group in frame.groupby(frame[SEGMENT].astype(str), sort=True):
        fraud = group[group[schema.LABEL_COLUMN] == 1]
        recall = float((fraud[SCORE] >= threshold).mean()) if len(fraud) else None
        segments[str(name)] = {"rows": len(group), "positives": len(fraud), "recall": recall}
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


def compute_quality(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    threshold: float,
    min_positives: int = MIN_SEGMENT_POSITIVES,
) -> dict[str, Any]:
    """The quality report of captured predictions against their labels."""
    from ml.metrics import binary_metrics

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
    metrics = binary_metrics(y, score, threshold)
    return {
        "summary": {name: metrics[name]["value"] for name in HEADLINE},  # type: ignore[index]
        "decision_threshold": threshold,
        "rows": counts["matched"],
        "positives": int(y.sum()),
        "join": counts,
        "binary_classification_metrics": metrics,
        "bias": segment_recall(matched, threshold, min_positives),
    }


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
    min_positives: int = MIN_SEGMENT_POSITIVES,
) -> dict[str, Any]:
    """Read capture and labels, write the quality report (and any refused capture lines)."""
    from ml.capture import quarantine_lines, read_capture
    from ml.io import read_table, write_atomic

    batch = read_capture(capture, window)
    report = compute_quality(batch.frame, read_table(labels), threshold, min_positives)
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
        min_positives=options.min_positives,
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
