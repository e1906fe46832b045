"""The data capture line format of a SageMaker real-time endpoint, and one line read into rows.

The contract, from "Capture data from real-time endpoint" and "View captured
data" in the SageMaker developer guide
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)
and ``CaptureContentTypeHeader`` in the API reference: the endpoint writes JSON
Lines under ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl``
(the hour of the invocation, UTC), one invocation per line::

    {"captureData": {
        "endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                           "data": "...", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                           "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-01-01T10:30:45Z",
                       "inferenceId": "<optional, from InvokeEndpoint>"},
     "eventVersion": "0"}

A body whose content type is in the capture's CSV or JSON list is kept as text
(encoding ``CSV`` or ``JSON``); any other is base64 (``BASE64``). Bodies are
decoded with the serving handlers of ``ml.inference``, so a captured request
reads exactly as the model read it. ``ml.capture`` reads files of these lines;
``ml.capture_writer`` writes them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.inference import CSV, JSON, media_type, request_rows, rows_frame

CAPTURE_SUFFIX = ".jsonl"
EVENT_VERSION = "0"
ENCODINGS = ("CSV", "JSON", "BASE64")
# Columns a capture frame adds to the schema's feature columns.
EVENT_ID = "event_id"
EVENT_ROW = "event_row"  # position of the row in its request (0 for single-row requests)
INFERENCE_ID = "inference_id"
INFERENCE_TIME = "inference_time"
SCORE = "score"
PREDICTION = "prediction"  # the model's 0/1 decision, as the response said it
CAPTURE_COLUMNS = (
    *schema.FEATURE_COLUMNS,
    EVENT_ID,
    EVENT_ROW,
    INFERENCE_ID,
    INFERENCE_TIME,
    SCORE,
    PREDICTION,
)


class CaptureInputError(MlopsError):
    """A capture path or window that cannot be read (no files, bad window)."""


@dataclass(frozen=True)
class CapturedEvent:
    """One invocation: its request rows (schema order) and the response's scores and decisions."""

    event_id: str
    inference_id: str | None
    inference_time: pd.Timestamp
    rows: list[list[Any]]
    scores: list[float]
    decisions: list[int]


class CaptureLineError(MlopsError):
    """A capture line that cannot be read; ``reason`` is a short code for reports."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_record(line: str) -> CapturedEvent:
    """One capture line: the event's id and time, its request rows, scores and decisions."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise CaptureLineError(
            "not_json", f"not JSON: {error.msg} at position {error.pos}"
        ) from None
    if not isinstance(record, dict):
        raise CaptureLineError("missing_field", "line is not a JSON object")
    capture = _object(record, "captureData")
    metadata = _object(record, "eventMetadata")
    event_id = metadata.get("eventId")
    if not isinstance(event_id, str) or not event_id:
        raise CaptureLineError("missing_field", "eventMetadata.eventId is missing or empty")
    when = _inference_time(metadata.get("inferenceTime"))
    request_type, request = _payload(capture, "endpointInput", "INPUT")
    response_type, response = _payload(capture, "endpointOutput", "OUTPUT")
    try:
        rows = request_rows(request, request_type)
    except MlopsError as error:
        raise CaptureLineError("bad_input", f"endpointInput: {error}") from None
    scores, decisions = _predictions(response, response_type)
    if len(scores) != len(rows):
        raise CaptureLineError(
            "row_mismatch",
            f"{len(rows)} request rows but {len(scores)} predictions in the response",
        )
    inference_id = metadata.get("inferenceId")
    return CapturedEvent(
        event_id,
        inference_id if isinstance(inference_id, str) else None,
        when,
        rows,
        scores,
        decisions,
    )


def events_frame(events: list[CapturedEvent]) -> pd.DataFrame:
    """One frame of every event's rows: features, then event id, row, time, score, decision."""
    if not events:
        return empty_frame()
    frame = rows_frame([row for event in events for row in event.rows])
    counts = np.asarray([len(event.rows) for event in events])
    frame[EVENT_ID] = np.repeat(np.asarray([e.event_id for e in events], dtype=object), counts)
    frame[EVENT_ROW] = np.concatenate([np.arange(n, dtype=np.int64) for n in counts])
    frame[INFERENCE_ID] = np.repeat(
        np.asarray([e.inference_id for e in events], dtype=object), counts
    )
    times = pd.DatetimeIndex([e.inference_time for e in events])
    frame[INFERENCE_TIME] = times.repeat(counts)
    frame[SCORE] = np.asarray([s for e in events for s in e.scores], dtype=np.float64)
    frame[PREDICTION] = np.asarray([d for e in events for d in e.decisions], dtype=np.int64)
    return frame


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise CaptureLineError("missing_field", f"{key} is missing or not an object")
    return value


def _inference_time(value: Any) -> pd.Timestamp:
    if not isinstance(value, str):
        raise CaptureLineError("missing_field", "eventMetadata.inferenceTime is missing")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CaptureLineError("bad_time", f"inferenceTime {value!r} is not ISO 8601") from None
    return pd.Timestamp(when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC))


def _payload(capture: dict[str, Any], key: str, mode: str) -> tuple[str, bytes | str]:
    """The content type and body of one side, decoded from its capture encoding."""
    side = _object(capture, key)
    if side.get("mode") != mode:
        raise CaptureLineError("missing_field", f"{key}.mode is {side.get('mode')!r}, not {mode!r}")
    data, encoding = side.get("data"), side.get("encoding")
    content_type = side.get("observedContentType")
    if not isinstance(data, str) or not isinstance(content_type, str):
        raise CaptureLineError("missing_field", f"{key} lacks data or observedContentType")
    if encoding not in ENCODINGS:
        raise CaptureLineError(
            "unknown_encoding", f"{key}.encoding {encoding!r} is not one of {', '.join(ENCODINGS)}"
        )
    if encoding != "BASE64":
        return content_type, data
    try:
        return content_type, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise CaptureLineError("bad_base64", f"{key}.data is not valid base64") from None


def _predictions(body: bytes | str, content_type: str) -> tuple[list[float], list[int]]:
    """Scores and decisions of a response as ``output_fn`` writes it (CSV or JSON)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if media_type(content_type) == CSV:
            pairs = [line.split(",") for line in text.splitlines() if line.strip()]
            return [float(p[0]) for p in pairs], [int(p[1]) for p in pairs]
        if media_type(content_type) == JSON:
            items = json.loads(text)["predictions"]
            return [float(i["score"]) for i in items], [int(bool(i["is_fraud"])) for i in items]
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError):
        raise CaptureLineError(
            "bad_output",
            "endpointOutput is not the model's response (CSV score,is_fraud lines or "
            '{"predictions": [...]})',
        ) from None
    raise CaptureLineError(
        "bad_output", f"endpointOutput content type {content_type!r} is neither {CSV} nor {JSON}"
    )


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CAPTURE_COLUMNS))
