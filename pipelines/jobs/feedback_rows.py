"""Captured requests joined with the labels that arrived, as rows of the transaction schema.

A captured request carries the features the model saw (``ml.capture``); a
label names the request by the capture's ``eventId`` and the row's position in
it (``ml.quality.prepare_labels`` checks and de-duplicates labels). A matched
pair becomes one training row: the features, ``event_time`` = the inference
time, ``is_fraud`` = the label, and a ``transaction_id`` derived from the event
id and row (the first 52 bits of their sha256: a whole number a float holds
exactly, as the schema's id check reads it), so the same event always gets the
same id and a row landed twice would be seen as the same row. The score and the
model's decision stay out: ``raw/`` holds what an upstream producer would drop.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from ml import schema
from ml.capture_format import EVENT_ID, EVENT_ROW, INFERENCE_TIME
from ml.quality import prepare_labels

ID_HEX_CHARS = 13  # 52 bits


def row_id(event_id: str, event_row: int) -> int:
    """The transaction id of one captured row: 52 bits of sha256 of ``<event id>/<row>``."""
    digest = hashlib.sha256(f"{event_id}/{int(event_row)}".encode()).hexdigest()
    return int(digest[:ID_HEX_CHARS], 16)


def labelled_rows(
    capture: pd.DataFrame, labels: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The matched rows in schema order (sorted by time, then id), and what did not match."""
    prepared, duplicate_labels = prepare_labels(labels)
    keys = [EVENT_ID, EVENT_ROW]
    predictions = capture.drop_duplicates(keys, keep="last")
    joined = predictions.drop(columns=[schema.LABEL_COLUMN], errors="ignore").merge(
        prepared[[*keys, schema.LABEL_COLUMN]], on=keys, how="inner", validate="1:1"
    )
    rows = pd.DataFrame(
        {
            schema.ID_COLUMN: [
                row_id(e, r) for e, r in zip(joined[EVENT_ID], joined[EVENT_ROW], strict=True)
            ],
            schema.TIME_COLUMN: pd.to_datetime(joined[INFERENCE_TIME], utc=True),
            **{column: joined[column] for column in schema.FEATURE_COLUMNS},
            schema.LABEL_COLUMN: joined[schema.LABEL_COLUMN].astype("int64"),
        },
        columns=list(schema.COLUMNS),
    )
    rows = rows.sort_values([schema.TIME_COLUMN, schema.ID_COLUMN], kind="stable")
    counts = {
        "labels": len(prepared),
        "duplicate_labels": duplicate_labels,
        "duplicate_predictions": len(capture) - len(predictions),
        "matched": len(rows),
        "unmatched_labels": len(prepared) - len(rows),
    }
    return rows.reset_index(drop=True), counts


def without_ids(rows: pd.DataFrame, landed: set[int]) -> pd.DataFrame:
    """The rows whose transaction id has not landed yet."""
    return rows[~rows[schema.ID_COLUMN].isin(landed)].reset_index(drop=True)
