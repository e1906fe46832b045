"""SageMaker data capture written as an endpoint writes it: for tests, demos and benchmarks.

The format is the one ``ml.capture`` reads (see its docstring for the contract);
``simulate_traffic`` answers generated requests with a real model's responses,
and ``write_capture`` lays the lines out under ``<endpoint>/<variant>/yyyy/mm/dd/hh/``.
Requests are sent either one after another from ``start`` (a burst, for tests
of the format), or each at its transaction's time of day on ``day``: then a
capture hour holds the transactions of that clock hour and no other, as real
traffic does (``ml.data.generate(..., hour=h)`` draws one clock hour of it).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import CAPTURE_SUFFIX, EVENT_ID, EVENT_ROW, EVENT_VERSION
from ml.errors import MlopsError
from ml.inference import CSV, LoadedModel, input_fn, media_type, output_fn, predict_fn


def capture_line(
    request: str,
    request_type: str,
    response: str,
    response_type: str,
    event_id: str,
    when: datetime,
    *,
    encode_base64: bool = False,
    inference_id: str | None = None,
) -> str:
    """One capture line as the endpoint writes it, from a request and its response body."""
    metadata: dict[str, Any] = {
        "eventId": event_id,
        "inferenceTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    record = {
        "captureData": {
            "endpointInput": _side(request, request_type, "INPUT", encode_base64),
            "endpointOutput": _side(response, response_type, "OUTPUT", encode_base64),
        },
        "eventMetadata": metadata,
        "eventVersion": EVENT_VERSION,
    }
    return json.dumps(record, separators=(",", ":"))


def _side(body: str, content_type: str, mode: str, encode_base64: bool) -> dict[str, str]:
    if encode_base64:
        data, encoding = base64.b64encode(body.encode("utf-8")).decode("ascii"), "BASE64"
    else:
        data, encoding = body, "CSV" if media_type(content_type) == CSV else "JSON"
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def request_body(records: list[list[Any]], content_type: str, json_shape: str = "objects") -> str:
    """A request body for rows of features in schema order, as a client would send it.

    CSV: one line per row. JSON: ``{"instances": [...]}`` of objects
    (``json_shape="objects"``) or arrays (``"arrays"``), or a bare object for one
    row (``"single"``).
    """
    if media_type(content_type) == CSV:
        return "".join(",".join(str(v) for v in row) + "\n" for row in records)
    if json_shape == "arrays":
        return json.dumps({"instances": records})
    objects = [dict(zip(schema.FEATURE_COLUMNS, row, strict=True)) for row in records]
    if json_shape == "single":
        if len(objects) != 1:
            raise MlopsError("a single-object JSON request holds one row; use rows_per_request=1")
        return json.dumps(objects[0])
    return json.dumps({"instances": objects})


def simulate_traffic(
    frame: pd.DataFrame,
    model: LoadedModel,
    *,
    content_type: str = CSV,
    accept: str | None = None,
    encode_base64: bool = False,
    json_shape: str = "objects",
    rows_per_request: int = 1,
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    seconds_between: float = 1.0,
    seed: int = 0,
    day: datetime | None = None,
) -> tuple[list[tuple[datetime, str]], pd.DataFrame]:
    """Capture lines for a frame's rows sent to the model, and the labels that arrive later.

    Requests of ``rows_per_request`` rows are answered by the serving handlers
    (the rows as ``input_fn`` reads them, scored once by ``predict_fn``, each
    response written by ``output_fn``). A request is sent at ``start`` plus
    ``seconds_between`` per request before it, or, with ``day``, at its first
    row's time of day (``event_time``) on that UTC day, the rows taken in
    time-of-day order. Returns the lines in time order with their inference
    times, and the ground truth (in the order the rows were sent): ``event_id``,
    ``event_row``, ``merchant_category`` and ``is_fraud`` when the frame has it.
    """
    if rows_per_request < 1:
        raise MlopsError(f"rows_per_request must be at least 1, got {rows_per_request}")
    rng = np.random.default_rng(seed)
    reply = accept or content_type
    offsets = None
    if day is not None:  # in time-of-day order, so a request's rows are close in time
        offsets = _times_of_day(frame)
        order = np.argsort(offsets, kind="stable")
        frame, offsets = frame.iloc[order], offsets[order]
    features = frame.loc[:, list(schema.FEATURE_COLUMNS)].astype(object)
    records = [[_plain(v) for v in row] for row in features.itertuples(index=False, name=None)]
    prediction = predict_fn(input_fn(request_body(records, CSV), CSV), model)
    lines: list[tuple[datetime, str]] = []
    ids: list[str] = []
    for number, first in enumerate(range(0, len(records), rows_per_request)):
        chunk = records[first : first + rows_per_request]
        body = request_body(chunk, content_type, json_shape)
        response = output_fn(prediction[first : first + len(chunk)], reply)
        event_id = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        if day is not None and offsets is not None:
            when = _midnight(day) + timedelta(seconds=float(offsets[first]))
        else:
            when = start + timedelta(seconds=number * seconds_between)
        line = capture_line(
            body, content_type, response, reply, event_id, when, encode_base64=encode_base64
        )
        lines.append((when, line))
        ids.extend([event_id] * len(chunk))
    lines.sort(key=lambda item: item[0])
    labels = pd.DataFrame(
        {
            EVENT_ID: ids,
            EVENT_ROW: np.arange(len(records), dtype=np.int64) % rows_per_request,
            "merchant_category": frame["merchant_category"].to_numpy(),
        }
    )
    if schema.LABEL_COLUMN in frame.columns:
        labels[schema.LABEL_COLUMN] = frame[schema.LABEL_COLUMN].to_numpy()
    return lines, labels


def _times_of_day(frame: pd.DataFrame) -> np.ndarray:
    """Seconds since midnight (UTC) of each row's event time."""
    if schema.TIME_COLUMN not in frame.columns:
        raise MlopsError(
            f"placing requests at their time of day needs the {schema.TIME_COLUMN} column"
        )
    times = pd.to_datetime(frame[schema.TIME_COLUMN], utc=True)
    return (times - times.dt.floor("D")).dt.total_seconds().to_numpy()


def _midnight(day: datetime) -> datetime:
    return day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _plain(value: Any) -> Any:
    """A Python scalar for JSON (numpy integers and floats are not serialisable)."""
    return value.item() if isinstance(value, np.generic) else value


def write_capture(
    lines: Iterable[tuple[datetime, str]],
    root: Path,
    endpoint: str = "endpoint",
    variant: str = "primary",
) -> list[Path]:
    """Lay capture lines out as the endpoint does: one file per hour under the variant.

    Path: ``root/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<ms>-<uuid>.jsonl``
    (SageMaker names a file by the time it opened and a random id; readers
    rely on the folders only).
    """
    by_hour: dict[datetime, list[tuple[datetime, str]]] = {}
    for when, line in lines:
        hour = when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, []).append((when, line))
    written = []
    for hour, items in sorted(by_hour.items()):
        first = items[0][0].astimezone(UTC)
        tag = uuid.uuid5(uuid.NAMESPACE_URL, f"{root}/{endpoint}/{variant}/{hour.isoformat()}")
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{tag}"
        path = root / endpoint / variant / f"{hour:%Y/%m/%d/%H}" / f"{name}{CAPTURE_SUFFIX}"
        write_capture_file(path, (line for _, line in items))
        written.append(path)
    return written


def write_capture_file(path: Path, lines: Iterable[str]) -> Path:
    """Write capture lines to one JSON Lines file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path
