"""SageMaker inference handlers: ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``.

Requests are ``text/csv`` (rows of the feature columns in schema order, no
header needed) or ``application/json`` (``{"instances": [...]}`` of objects or
arrays, or a single object). Every malformed request raises a ``RequestError``
carrying a 4xx status and a message that says what to fix; an unseen category
is not an error: the encoder maps it to "unknown".
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.model_artifact import ModelLoadError as ModelLoadError  # what model_fn raises
from ml.model_artifact import load_model

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time payload limit
CSV = "text/csv"
JSON = "application/json"
FEATURES = schema.FEATURE_COLUMNS
NUMERIC = frozenset(schema.NUMERIC_FEATURES)
CSV_HEADER = ",".join(FEATURES[:2]).encode()
# Below this size (about a hundred rows) Python's csv module beats Arrow's fixed cost.
SMALL_CSV_CHARS = 16_384


class RequestError(MlopsError):
    """A request the client must fix; ``status`` is the HTTP status to answer with."""

    status = 400


class UnsupportedMediaTypeError(RequestError):
    """Content type other than CSV or JSON."""

    status = 415


class NotAcceptableError(RequestError):
    """Accept header asks for a format the model cannot answer in."""

    status = 406


class PayloadTooLargeError(RequestError):
    """Body over the size limit."""

    status = 413


@dataclass
class LoadedModel:
    """The fitted estimator with the metadata it was saved with."""

    model: Any
    metadata: dict[str, Any]
    threshold: float


def model_fn(model_dir: str | Path) -> LoadedModel:
    """Load the model and its metadata, from the model directory or its tarball.

    A tarball (how a training job hands its model on) is unpacked into a
    temporary directory, so a read-only model directory works as well.
    """
    model, metadata = load_model(Path(model_dir))
    return LoadedModel(model, metadata, float(metadata["decision_threshold"]))


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type or Accept value, lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def input_fn(request_body: bytes | str, request_content_type: str | None) -> pd.DataFrame:
    """Parse a request body into a frame of the feature columns."""
    kind, text = _request_text(request_body, request_content_type)
    if kind == JSON:
        return _frame(_json_rows(text))
    if len(text) <= SMALL_CSV_CHARS:
        return _frame(_csv_rows(text))
    frame = _csv_frame(text.encode())
    _require_finite(frame)
    return frame


def request_rows(request_body: bytes | str, request_content_type: str | None) -> list[list[Any]]:
    """The rows of a request, checked as ``input_fn`` checks them, without building a frame.

    For reading many small requests (data capture): a frame per request costs
    milliseconds, so callers collect rows and build one frame with ``rows_frame``.
    """
    kind, text = _request_text(request_body, request_content_type)
    rows = _json_rows(text) if kind == JSON else _csv_rows(text)
    for position, name in enumerate(FEATURES):
        if name in NUMERIC:
            for number, row in enumerate(rows, 1):
                _check_number(name, row[position], number)
    return rows


def rows_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """A frame of the feature columns from rows in schema order (as ``input_fn`` builds it)."""
    return _frame(rows)


def _request_text(request_body: bytes | str, request_content_type: str | None) -> tuple[str, str]:
    """The media type and text of a request, refusing what the model cannot read."""
    kind = media_type(request_content_type)
    if kind not in (CSV, JSON):
        raise UnsupportedMediaTypeError(
            f"content type {kind or '(none)'!r} is not supported; send {CSV} or {JSON}"
        )
    if len(request_body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"body is {len(request_body)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    try:
        text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    except UnicodeDecodeError:
        raise RequestError("body is not UTF-8 text; encode the request as UTF-8") from None
    if not text.strip():
        raise RequestError("empty body; send at least one row")
    return kind, text


def _check_number(name: str, value: Any, number: int) -> None:
    if not _is_number(value):
        raise RequestError(f"row {number}: {name} must be a number, got {value!r}")
    if not np.isfinite(float(value)):
        raise RequestError(f"row {number}: {name} must be a finite number, not empty, NaN or inf")


def _csv_rows(text: str) -> list[list[Any]]:
    """Rows of a small CSV body, checked for the column count."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if rows and rows[0][:2] == list(FEATURES[:2]):
        rows = rows[1:]  # an optional header naming the columns
    if not rows:
        raise RequestError("no data rows in the CSV body")
    for number, row in enumerate(rows, 1):
        if len(row) != len(FEATURES):
            raise RequestError(
                f"row {number}: {len(row)} values, expected {len(FEATURES)}: " + ", ".join(FEATURES)
            )
    return rows


def _csv_frame(data: bytes) -> pd.DataFrame:
    """Parse CSV rows with Arrow's C++ reader; an optional header row is skipped."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    header = data.lstrip()[: len(CSV_HEADER)] == CSV_HEADER
    types = {name: pa.float64() if name in NUMERIC else pa.string() for name in FEATURES}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(
                column_names=list(FEATURES), skip_rows=int(header), use_threads=False
            ),
            convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as error:
        raise RequestError(_arrow_message(str(error))) from None
    if table.num_rows == 0:
        raise RequestError("no data rows in the CSV body")
    return table.to_pandas(use_threads=False)


def _arrow_message(text: str) -> str:
    """Arrow's parse errors, reworded to say which row or column to fix."""
    row = re.search(r"Row #(\d+)", text)
    where = f"row {row.group(1)}: " if row else ""
    count = re.search(r"Expected (\d+) columns?, got (\d+)", text)
    if count:
        return f"{where}{count.group(2)} values, expected {len(FEATURES)}: " + ", ".join(FEATURES)
    value = re.search(r"column #(\d+).*invalid value '([^']*)'", text)
    if value:
        name = FEATURES[int(value.group(1))]
        return f"{where}{name} must be a number, got {value.group(2)!r}"
    return "malformed CSV: " + text.splitlines()[0][:200]


def _json_rows(text: str) -> list[list[Any]]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(f"body is not valid JSON: {error.msg} at position {error.pos}") from None
    if isinstance(payload, dict):
        payload = payload.get("instances", [payload])
    if not isinstance(payload, list) or not payload:
        raise RequestError('JSON body must be {"instances": [...]} with at least one instance')
    rows = []
    for number, item in enumerate(payload, 1):
        if isinstance(item, dict):
            missing = [c for c in FEATURES if c not in item]
            if missing:
                raise RequestError(f"instance {number} lacks {', '.join(missing)}")
            rows.append([item[c] for c in FEATURES])
        elif isinstance(item, list) and len(item) == len(FEATURES):
            rows.append(item)
        else:
            raise RequestError(
                f"instance {number} must be an object or a list of {len(FEATURES)} values: "
                + ", ".join(FEATURES)
            )
    return rows


def _frame(rows: list[list[Any]]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True))
    data: dict[str, Any] = {}
    for position, name in enumerate(FEATURES):
        values = columns[position]
        if name in NUMERIC:
            data[name] = _numbers(name, values)
        else:
            data[name] = np.asarray([str(v).strip() for v in values], dtype=object)
    return pd.DataFrame(data, columns=list(FEATURES))


def _numbers(name: str, values: tuple[Any, ...]) -> np.ndarray:
    try:
        if any(isinstance(v, bool | dict | list) or v is None for v in values):
            raise TypeError
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(values, 1) if not _is_number(v))
        raise RequestError(f"row {bad}: {name} must be a number, got {values[bad - 1]!r}") from None
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0]) + 1
        raise RequestError(f"row {bad}: {name} must be a finite number, not empty, NaN or inf")
    return array


def _require_finite(frame: pd.DataFrame) -> None:
    for name in schema.NUMERIC_FEATURES:
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
            raise RequestError(f"row {bad}: {name} must be a finite number, not empty, NaN or inf")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | dict | list) or value is None:
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def predict_fn(input_data: pd.DataFrame, model: LoadedModel) -> np.ndarray:
    """Fraud probability and 0/1 decision per row, as an (n, 2) array.

    The model's encoder picks the feature columns by name (and names any that
    are missing), so extra columns such as the label are simply ignored.
    """
    score = model.model.predict_proba(input_data)[:, 1]
    return np.column_stack([score, score >= model.threshold])


def output_fn(prediction: np.ndarray, accept: str | None) -> str:
    """Serialise predictions as CSV lines ``score,is_fraud`` or JSON ``{"predictions": [...]}``."""
    kind = response_type(accept)
    scores = prediction[:, 0].tolist()  # Python floats format far faster than numpy scalars
    flags = prediction[:, 1].astype(int).tolist()
    if kind == CSV:
        return "".join(f"{score:.6f},{flag}\n" for score, flag in zip(scores, flags, strict=True))
    return json.dumps(
        {
            "predictions": [
                {"score": round(score, 6), "is_fraud": bool(flag)}
                for score, flag in zip(scores, flags, strict=True)
            ]
        }
    )


def response_type(accept: str | None, default: str = JSON) -> str:
    """The response media type for an Accept header (first supported type wins)."""
    for part in (accept or "").split(","):
        kind = media_type(part)
        if kind in (CSV, JSON):
            return kind
        if kind in ("", "*/*", "application/*", "text/*"):
            return default if kind != "text/*" else CSV
    raise NotAcceptableError(f"cannot answer in {accept!r}; accept {CSV} or {JSON}")
