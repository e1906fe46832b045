"""SageMaker real-time endpoint data capture, read into rows (``ml.capture_writer`` writes it).

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
reads exactly as the model read it. A line that cannot be read is returned
with its reason, never dropped, and never stops the other lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.inference import (
    CSV,
    JSON,
    media_type,
    request_rows,
    rows_frame,
)

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
_HOUR_PATH = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}$")


class CaptureInputError(MlopsError):
    """A capture path or window that cannot be read (no files, bad window)."""


@dataclass(frozen=True)
class BadLine:
    """One capture line that could not be read, with the reason and the original text."""

    file: Path
    line: int
    reason: str
    message: str
    text: str

    def describe(self) -> dict[str, Any]:
        """The line's reason record, without its text."""
        return {
            "file": str(self.file),
            "line": self.line,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass
class CaptureBatch:
    """What a set of capture files held: one row per request row, and the lines refused."""

    frame: pd.DataFrame
    files: list[Path]
    events: int
    bad_lines: list[BadLine] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts for a report: files, events and rows read, lines refused by reason."""
        reasons: dict[str, int] = {}
        for bad in self.bad_lines:
            reasons[bad.reason] = reasons.get(bad.reason, 0) + 1
        return {
            "files": len(self.files),
            "events": self.events,
            "rows": len(self.frame),
            "malformed_lines": len(self.bad_lines),
            "malformed_by_reason": dict(sorted(reasons.items())),
        }


@dataclass(frozen=True)
class Window:
    """A half-open UTC time range ``[start, end)``; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(
        cls,
        start: str | None = None,
        end: str | None = None,
        hours: float | None = None,
        now: datetime | None = None,
    ) -> Window:
        """Build a window from ISO 8601 bounds and/or a length in hours.

        ``hours`` alone means the last full hours before ``now`` (to the top of
        the current hour, whose files are still being written).
        """
        begin, finish = _instant(start, "--window-start"), _instant(end, "--window-end")
        if hours is None:
            window = cls(begin, finish)
        elif hours <= 0:
            raise CaptureInputError(f"window hours must be positive, got {hours}")
        elif begin is not None and finish is not None:
            raise CaptureInputError("give two of window start, end and hours, not all three")
        elif begin is not None:
            window = cls(begin, begin + timedelta(hours=hours))
        else:
            top = finish or (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
            window = cls(top - timedelta(hours=hours), top)
        if window.start is not None and window.end is not None and window.start >= window.end:
            raise CaptureInputError(
                f"window start {window.start.isoformat()} is not before its end "
                f"{window.end.isoformat()}; swap them"
            )
        return window

    def overlaps_hour(self, hour: datetime) -> bool:
        """Whether the hour ``[hour, hour + 1h)`` has any instant in the window."""
        after_start = self.start is None or hour + timedelta(hours=1) > self.start
        before_end = self.end is None or hour < self.end
        return after_start and before_end

    def contains(self, times: pd.Series) -> pd.Series:
        """Which instants fall in the window."""
        keep = pd.Series(True, index=times.index)
        if self.start is not None:
            keep &= times >= pd.Timestamp(self.start)
        if self.end is not None:
            keep &= times < pd.Timestamp(self.end)
        return keep

    def describe(self) -> dict[str, str | None]:
        """The bounds as ISO 8601 strings, for reports."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CaptureInputError(
            f"{name} {text!r} is not an ISO 8601 time; write e.g. 2026-01-01T10:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Reading ---------------------------------------------------------------------------


def is_capture_path(path: Path) -> bool:
    """Whether a path is capture data: a ``.jsonl`` file, or a directory of them and no tables."""
    from ml.io import TABLE_SUFFIXES

    if path.is_file():
        return path.suffix.lower() == CAPTURE_SUFFIX
    if not path.is_dir():
        return False
    files = [p for p in path.rglob("*") if p.is_file()]
    has_capture = any(p.suffix.lower() == CAPTURE_SUFFIX for p in files)
    return has_capture and not any(p.suffix.lower() in TABLE_SUFFIXES for p in files)


def file_hour(path: Path) -> datetime | None:
    """The UTC hour a capture file's ``yyyy/mm/dd/hh`` folders name, or None off that layout."""
    parts = path.parent.parts[-4:]
    if len(parts) < 4 or not _HOUR_PATH.match("/".join(parts)):
        return None
    year, month, day, hour = (int(p) for p in parts)
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


def capture_files(path: Path, window: Window | None = None) -> list[Path]:
    """The capture files under a path, in name order; with a window, those of its hours.

    The hour comes from the path, so a window reads only the files it needs.
    Quarantined lines (a file with a ``.reason.json`` beside it) are never read again.
    """
    from ml.quarantine import reason_path

    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.rglob(f"*{CAPTURE_SUFFIX}") if p.is_file())
    else:
        raise CaptureInputError(f"{path}: no such file or directory; check the path")
    if not candidates:
        raise CaptureInputError(f"{path}: no {CAPTURE_SUFFIX} capture files here; check the path")
    files = [p for p in candidates if not reason_path(p).exists()]
    if window is not None and (window.start is not None or window.end is not None):
        selected = []
        for file in files:
            hour = file_hour(file)
            if hour is None:
                raise CaptureInputError(
                    f"{file}: not under <endpoint>/<variant>/yyyy/mm/dd/hh/, so a window "
                    "cannot place it; point at the capture prefix or drop the window"
                )
            if window.overlaps_hour(hour):
                selected.append(file)
        files = selected
    if not files:
        bounds = (window or Window()).describe()
        raise CaptureInputError(
            f"{path}: no capture files between {bounds['start'] or 'the start'} and "
            f"{bounds['end'] or 'now'}; widen the window or check the path"
        )
    return files


def read_capture(path: Path, window: Window | None = None) -> CaptureBatch:
    """Read every capture file of a path (and window) into one frame plus the refused lines."""
    files = capture_files(path, window)
    parts: list[pd.DataFrame] = []
    bad: list[BadLine] = []
    events = 0
    for file in files:
        frame, count, refused = read_capture_file(file)
        parts.append(frame)
        events += count
        bad.extend(refused)
    frame = pd.concat(parts, ignore_index=True) if parts else _empty_frame()
    if window is not None and len(frame):
        inside = window.contains(frame[INFERENCE_TIME])
        events -= frame.loc[~inside, EVENT_ID].nunique()
        frame = frame[inside].reset_index(drop=True)
    return CaptureBatch(frame, files, events, bad)


def read_capture_file(path: Path) -> tuple[pd.DataFrame, int, list[BadLine]]:
    """One capture file: its rows, how many events they came from, and the refused lines."""
    bad: list[BadLine] = []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return _empty_frame(), 0, [BadLine(path, 0, "bad_encoding", f"not UTF-8: {error}", "")]
    events: list[CapturedEvent] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(parse_record(line))
        except CaptureLineError as error:
            bad.append(BadLine(path, number, error.reason, str(error), line))
    return events_frame(events), len(events), bad


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
        return _empty_frame()
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


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CAPTURE_COLUMNS))


def quarantine_lines(bad_lines: Iterable[BadLine], directory: Path) -> list[Path]:
    """Copy refused lines into directory, one file per source, with a reason file beside each.

    The capture files themselves stay where they are (the endpoint owns them);
    the copy keeps the source's name (with a suffix if taken) so the lines can be
    fixed and replayed. Written to temporary names first, then renamed.
    """
    from ml.quarantine import free_name, reason_path

    by_file: dict[Path, list[BadLine]] = {}
    for bad in bad_lines:
        by_file.setdefault(bad.file, []).append(bad)
    written: list[Path] = []
    if not by_file:
        return written
    directory.mkdir(parents=True, exist_ok=True)
    for source, lines in by_file.items():
        dest = free_name(directory, source.name)
        reason = {
            "source": str(source),
            "quarantined_as": dest.name,
            "timestamp": datetime.now(UTC).isoformat(),
            "lines": [{k: v for k, v in b.describe().items() if k != "file"} for b in lines],
        }
        write_replace(dest, "".join(b.text + "\n" for b in lines))
        write_replace(reason_path(dest), json.dumps(reason, indent=2))
        written.append(dest)
    return written


def write_replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
