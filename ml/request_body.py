"""Request bodies read into feature columns, every malformed one refused with a 4xx and a fix.

``text/csv``: rows of the feature columns in schema order, an optional header
naming them. ``application/json``: ``{"instances": [...]}`` of objects or
arrays, or a single object. Small CSV bodies go through Python's csv module,
larger ones through Arrow's C++ reader (faster past about a hundred rows);
both give the same columns and the same messages. JSON is read by orjson,
and by ``json.loads`` where orjson refuses a body. What the values become,
and how a bad one is named, is ``ml.request_values``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from pyarrow import csv as pa_csv

from ml.feature_columns import FEATURES, FeatureColumns, Values
from ml.request_values import ARROW_CATEGORY_ROWS as ARROW_CATEGORY_ROWS
from ml.request_values import (
    CATEGORY_TYPE,
    RequestError,
    categories,
    check_category,
    check_number,
    checked_numbers,
    number_columns,
    stripped,
)
from ml.schema import CATEGORICAL_FEATURES, NUMERIC_FEATURES

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time payload limit
CSV = "text/csv"
JSON = "application/json"
CSV_HEADER = ",".join(FEATURES[:2]).encode()
# Below this size (about 120 rows) Python's csv module beats Arrow's fixed cost
# (100 rows: 0.22 ms against 0.24 ms; 200 rows: 0.42 ms against 0.30 ms).
SMALL_CSV_CHARS = 6_144
# Arrow's CSV reader: numbers as float64 (an empty value is null, then NaN),
# categories dictionary-encoded, each distinct text kept once; the text is
# UTF-8 already (request_text decoded it), so it is not checked again.
_CSV_TYPES = {name: pa.float64() for name in NUMERIC_FEATURES} | dict.fromkeys(
    CATEGORICAL_FEATURES, CATEGORY_TYPE
)
_CSV_CONVERT = pa_csv.ConvertOptions(
    column_types=_CSV_TYPES, strings_can_be_null=False, check_utf8=False
)
_CSV_READ = {
    header: pa_csv.ReadOptions(column_names=list(FEATURES), skip_rows=header, use_threads=False)
    for header in (0, 1)
}


class UnsupportedMediaTypeError(RequestError):
    """Content type other than CSV or JSON."""

    status = 415


class NotAcceptableError(RequestError):
    """Accept header asks for a format the model cannot answer in."""

    status = 406


class PayloadTooLargeError(RequestError):
    """Body over the size limit."""

    status = 413


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type or Accept value, lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_columns(request_body: bytes | str, request_content_type: str | None) -> FeatureColumns:
    """The feature columns of a request body, every value checked."""
    kind, text = request_text(request_body, request_content_type)
    if kind == JSON:
        instances = json_instances(text)
        if set(map(type, instances)) == {dict}:
            return columns_from_objects(instances)
        return columns_from_rows(json_rows(text, instances))
    if len(text) <= SMALL_CSV_CHARS:
        return columns_from_rows(csv_rows(text))
    return _arrow_columns(request_body if isinstance(request_body, bytes) else text.encode())


def request_text(request_body: bytes | str, request_content_type: str | None) -> tuple[str, str]:
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
    if not text or text.isspace():  # as ``not text.strip()``, without copying the body
        raise RequestError("empty body; send at least one row")
    return kind, text


def csv_rows(text: str) -> list[list[Any]]:
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


def json_instances(text: str) -> list[Any]:
    """The instances of a JSON body: ``{"instances": [...]}``, a list, or one object."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        payload = _python_json(text)  # what orjson refuses, json.loads reads or names
    if isinstance(payload, dict):
        payload = payload.get("instances", [payload])
    if not isinstance(payload, list) or not payload:
        raise RequestError('JSON body must be {"instances": [...]} with at least one instance')
    return payload


def _python_json(text: str) -> Any:
    """The standard library's reading of a body orjson refuses, or the error that names why.

    orjson is strict where ``json.loads`` is lenient (NaN, Infinity, numbers too
    large for a float, lone surrogates), so a body it refuses is read again
    here: what the standard library accepts gets the same checks as before, and
    what it refuses gets its message, with the position of the fault.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(f"body is not valid JSON: {error.msg} at position {error.pos}") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise RequestError("JSON body holds an integer too long to read; send numbers") from None
    except RecursionError:
        raise RequestError(
            'JSON body nests too deeply; send {"instances": [...]} of flat objects or arrays'
        ) from None


def json_rows(text: str, instances: list[Any] | None = None) -> list[list[Any]]:
    """Rows of a JSON body in schema order, each instance checked for its fields."""
    rows = []
    for number, item in enumerate(json_instances(text) if instances is None else instances, 1):
        if isinstance(item, dict):
            rows.append(_object_row(item, number))
        elif isinstance(item, list) and len(item) == len(FEATURES):
            rows.append(item)
        else:
            raise RequestError(
                f"instance {number} must be an object or a list of {len(FEATURES)} values: "
                + ", ".join(FEATURES)
            )
    return rows


def _object_row(item: dict[str, Any], number: int) -> list[Any]:
    try:
        return [item[name] for name in FEATURES]
    except KeyError:
        missing = [name for name in FEATURES if name not in item]
        raise RequestError(f"instance {number} lacks {', '.join(missing)}") from None


def columns_from_objects(instances: list[dict[str, Any]]) -> FeatureColumns:
    """Columns of JSON objects, gathered field by field (no row lists in between)."""
    try:
        gathered = {name: [item[name] for item in instances] for name in FEATURES}
    except KeyError:
        for number, item in enumerate(instances, 1):
            _object_row(item, number)
        raise
    return _columns(gathered)


def columns_from_rows(rows: list[list[Any]]) -> FeatureColumns:
    """Columns of rows in schema order: numbers as floats, categories as stripped strings."""
    return _columns(dict(zip(FEATURES, zip(*rows, strict=True), strict=True)))


def _columns(values: Mapping[str, Sequence[Any]]) -> FeatureColumns:
    arrays: dict[str, Values] = number_columns([values[name] for name in NUMERIC_FEATURES])
    for name in CATEGORICAL_FEATURES:
        arrays[name] = categories(name, values[name])
    return FeatureColumns(arrays)


def check_values(rows: list[list[Any]]) -> None:
    """Refuse the first value ``columns_from_rows`` would refuse, without building columns."""
    for position, name in enumerate(FEATURES):
        check = check_number if name in NUMERIC_FEATURES else check_category
        for number, row in enumerate(rows, 1):
            check(name, row[position], number)


def _arrow_columns(data: bytes) -> FeatureColumns:
    """Parse CSV rows with Arrow's C++ reader; an optional header row is skipped."""
    try:
        table = arrow_table(data)
    except pa.ArrowInvalid as error:
        raise RequestError(_arrow_message(str(error))) from None
    if table.num_rows == 0:
        raise RequestError("no data rows in the CSV body")
    batch = table.combine_chunks().to_batches()[0]  # one chunk: one array per column
    # The numbers as one matrix, a feature per row (an empty value is NaN), checked at once.
    tensor = batch.select(NUMERIC_FEATURES).to_tensor(null_to_nan=True, row_major=False)
    arrays: dict[str, Values] = checked_numbers(np.asarray(tensor).T)
    for name in CATEGORICAL_FEATURES:
        arrays[name] = stripped(name, batch.column(name))
    return FeatureColumns(arrays)


def arrow_table(data: bytes) -> pa.Table:
    """Arrow's reading of CSV rows as typed columns, an optional header row skipped."""
    start = data.lstrip() if data[:1].isspace() else data  # lstrip copies the body
    # The streaming reader costs less to set up than read_csv (about 0.04 ms).
    return pa_csv.open_csv(
        pa.BufferReader(data),  # reads the bytes in place
        read_options=_CSV_READ[start.startswith(CSV_HEADER)],
        convert_options=_CSV_CONVERT,
    ).read_all()


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
