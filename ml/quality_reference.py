"""The serving model's own evaluation as the yardstick of its production quality.

A quality alarm compares the window with what the model did on its test
split, at its own decision threshold: ``evaluation.json`` (``ml.evaluate``)
holds the confusion matrix at that threshold, and ``segment_recall`` beside
it (written by ``segment_counts``) holds frauds and frauds caught per
merchant category. From those counts come the reference recall and
precision with their intervals, and the evaluated per-category gaps that the
bias test measures change from. The monitoring job finds the document
through the model package (``ModelMetrics.ModelQuality.Statistics``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.labels import SEGMENT, QualityInputError
from ml.quality_stats import proportion_drop, segment_drop, wilson_interval

SEGMENT_KEY = "segment_recall"  # the key of evaluation.json that segment_counts fills


def segment_counts(
    frame: pd.DataFrame, y: np.ndarray, score: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Frauds and frauds caught per merchant category at the threshold, for ``evaluation.json``.

    Empty when the frame has no merchant category.
    """
    if SEGMENT not in frame.columns:
        return {}
    caught = (np.asarray(score) >= threshold) & (np.asarray(y) == 1)
    table = pd.DataFrame(
        {"segment": frame[SEGMENT].astype(str).to_numpy(), "fraud": y, "caught": caught}
    )
    grouped = table.groupby("segment", sort=True)[["fraud", "caught"]].sum()
    return {
        SEGMENT_KEY: {
            "segment": SEGMENT,
            "segments": {
                str(name): {"positives": int(row.fraud), "true_positives": int(row.caught)}
                for name, row in grouped.iterrows()
            },
        }
    }


def evaluation_reference(evaluation: dict[str, Any], source: str) -> dict[str, Any]:
    """Counts at the decision threshold from an evaluation document, with intervals."""
    try:
        matrix = evaluation["binary_classification_metrics"]["confusion_matrix"]
        caught, missed = int(matrix["1"]["1"]), int(matrix["1"]["0"])
        false_alarms = int(matrix["0"]["1"])
    except (KeyError, TypeError, ValueError):
        raise QualityInputError(
            f"{source}: no confusion_matrix in binary_classification_metrics; "
            "register the model with the evaluation.json that ml.evaluate writes"
        ) from None
    segments = (evaluation.get(SEGMENT_KEY) or {}).get("segments", {})
    return {
        "source": source,
        "positives": caught + missed,
        "true_positives": caught,
        "flagged": caught + false_alarms,
        "recall": _share(caught, caught + missed),
        "precision": _share(caught, caught + false_alarms),
        "segments": {
            str(name): (int(item["true_positives"]), int(item["positives"]))
            for name, item in segments.items()
        },
    }


def _share(successes: int, trials: int) -> dict[str, Any]:
    return {
        "value": successes / trials if trials else None,
        "interval": wilson_interval(successes, trials),
    }


def load_reference(path: Path) -> dict[str, Any]:
    """The reference from an ``evaluation.json`` file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QualityInputError(f"{path}: no such evaluation file; check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise QualityInputError(f"{path}: not JSON; pass the model's evaluation.json") from None
    if not isinstance(document, dict):
        raise QualityInputError(f"{path}: not an evaluation document; pass evaluation.json")
    return evaluation_reference(document, str(path))


def quality_changes(
    counts: dict[str, tuple[int, int]],
    segments: dict[str, tuple[int, int]],
    reference: dict[str, Any],
    min_positives: int,
    min_segment_positives: int,
) -> dict[str, Any]:
    """Drops of recall, precision and per-category recall from the evaluated values.

    ``counts`` maps ``recall``/``precision`` to (successes, trials) of a metric
    the window measured; ``segments`` maps a category with enough frauds to
    (caught, frauds). A reference with fewer trials than ``min_positives``
    gives a reason instead of a test.
    """
    trials = {"recall": "positives", "precision": "flagged"}
    changes: dict[str, Any] = {}
    for name, (successes, count) in counts.items():
        base_trials = int(reference[trials[name]])
        if base_trials < min_positives:
            changes[name] = {"reason": f"the evaluation has {base_trials} {trials[name]} rows"}
            continue
        base_successes = int(reference["true_positives"])
        changes[name] = {
            **proportion_drop(base_successes, base_trials, successes, count),
            "evaluated": reference[name],
        }
    enough = {
        name: counts_
        for name, counts_ in reference["segments"].items()
        if counts_[1] >= min_segment_positives
    }
    changes["segments"] = segment_drop(segments, enough)
    return changes
