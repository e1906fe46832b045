"""Ground-truth labels of captured predictions: their contract, and the join.

Labels arrive later than predictions (a chargeback takes weeks), as CSV or
Parquet tables with ``event_id`` (the capture's ``eventMetadata.eventId``),
``is_fraud`` (0 or 1) and, for requests of several rows, ``event_row`` (the
row's position in the request; 0 when absent); a ``merchant_category``
column is optional, since the captured request holds it. A label given twice
counts once and the last one read wins, so files are read in key order and
a correction is a newer file. Unmatched labels and predictions are counted,
never silently ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import EVENT_ID, EVENT_ROW
from ml.errors import MlopsError

SEGMENT = "merchant_category"


class QualityInputError(MlopsError):
    """Labels, an evaluation or model metadata that the quality job cannot use."""


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
