"""The checks one data file must pass: file level first, then row level with pandera.

File-level checks catch what makes a file unreadable (empty, truncated, not
CSV or Parquet, bad encoding, wrong columns); row-level checks catch records a
model must not learn from (wrong types, nulls, out-of-range values, unknown
closed-set categories, duplicate ids). An unseen merchant category is a drift
signal, not corruption: it is reported as a warning and the file passes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema

MAX_EXAMPLES = 5
SNIFF_BYTES = 1 << 16
PARQUET_MAGIC = b"PAR1"


@dataclass
class Failure:
    """One failed check with a readable message and a few offending values."""

    check: str
    message: str
    examples: list[Any] = field(default_factory=list)


@dataclass
class CheckResult:
    """What checking one file found; ``frame`` is set when the file could be read."""

    rows: int | None = None
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    frame: pd.DataFrame | None = None


def check_file(path: Path, require_label: bool = True) -> CheckResult:
    """Run every check on one file; stop at the first file-level failure."""
    result = CheckResult()
    data = path.read_bytes()
    frame, failure = _read(path, data)
    if failure is not None:
        result.failures.append(failure)
        return result
    assert frame is not None
    result.rows = len(frame)
    if frame.empty:
        result.failures.append(Failure("no_rows", "the file has a header but no rows"))
        return result
    column_failures = _check_columns(frame, require_label)
    if column_failures:
        result.failures.extend(column_failures)
        return result
    result.failures.extend(check_rows(frame))
    result.warnings.extend(_drift_warnings(frame))
    result.frame = frame
    return result


def _read(path: Path, data: bytes) -> tuple[pd.DataFrame | None, Failure | None]:
    if not data:
        return None, Failure("empty_file", "the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"} or (suffix != ".csv" and data[:4] == PARQUET_MAGIC):
        return _read_parquet(data)
    if suffix != ".csv":
        return None, Failure(
            "unsupported_format", f"extension {suffix or '(none)'!r} is not .csv or .parquet"
        )
    return _read_csv(data)


def _read_parquet(data: bytes) -> tuple[pd.DataFrame | None, Failure | None]:
    if data[:4] != PARQUET_MAGIC:
        return None, Failure("not_parquet", "the file has a .parquet name but no Parquet header")
    if len(data) < 12 or data[-4:] != PARQUET_MAGIC:
        return None, Failure("truncated", "the Parquet footer is missing: the file was cut short")
    try:
        return pd.read_parquet(io.BytesIO(data)), None
    except Exception as error:  # pyarrow raises many types for corrupt files
        return None, Failure("unreadable_parquet", f"Parquet reader failed: {_first_line(error)}")


def _read_csv(data: bytes) -> tuple[pd.DataFrame | None, Failure | None]:
    if b"\x00" in data[:SNIFF_BYTES] or data[:4] == PARQUET_MAGIC:
        return None, Failure("not_csv", "binary content in a .csv file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        snippet = data[max(0, error.start - 10) : error.start + 10]
        return None, Failure("bad_encoding", f"not UTF-8 at byte {error.start}", [repr(snippet)])
    lines = text.rstrip("\r\n").split("\n")
    header_fields = lines[0].count(",")
    if len(lines) > 1 and lines[-1].count(",") < header_fields:
        return None, Failure(
            "truncated",
            f"the last line has {lines[-1].count(',') + 1} of {header_fields + 1} fields",
            [lines[-1][:80]],
        )
    try:
        return pd.read_csv(io.BytesIO(data), engine="pyarrow"), None
    except Exception as error:  # pyarrow's CSV errors have no common base we can name
        return None, Failure("malformed_csv", f"CSV parser failed: {_first_line(error)}")


def _check_columns(frame: pd.DataFrame, require_label: bool) -> list[Failure]:
    required = [c for c in schema.COLUMNS if require_label or c != schema.LABEL_COLUMN]
    missing = [c for c in required if c not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in schema.COLUMNS]
    failures = []
    if missing:
        failures.append(
            Failure("missing_columns", f"missing columns: {', '.join(missing)}", missing)
        )
    if extra:
        failures.append(
            Failure("unexpected_columns", f"unexpected columns: {', '.join(extra)}", extra)
        )
    return failures


def _row_schema(columns: list[str]) -> Any:
    import pandera.pandas as pa

    integer = pa.Check(
        lambda s: np.equal(np.mod(s, 1), 0), element_wise=False, name="integer_valued"
    )
    cols: dict[str, Any] = {
        schema.ID_COLUMN: pa.Column(float, [integer, pa.Check.ge(0)], unique=True, coerce=True),
        schema.LABEL_COLUMN: pa.Column(float, pa.Check.isin([0, 1]), coerce=True),
    }
    for name, (low, high) in schema.NUMERIC_RANGES.items():
        checks = [pa.Check.in_range(low, high)]
        if name in schema.INTEGER_FEATURES:
            checks.append(integer)
        cols[name] = pa.Column(float, checks, coerce=True)
    for name, allowed in schema.CATEGORICAL_FEATURES.items():
        check = (
            pa.Check.str_matches(r"^[a-z][a-z0-9_]{0,63}$", name="category_format")
            if name in schema.OPEN_CATEGORICALS
            else pa.Check.isin(list(allowed))
        )
        cols[name] = pa.Column(str, check, coerce=True)
    return pa.DataFrameSchema({k: v for k, v in cols.items() if k in columns}, strict=False)


CHECK_KINDS = (
    ("coerce_dtype", "wrong_type"),
    ("dtype", "wrong_type"),
    ("integer_valued", "wrong_type"),
    ("not_nullable", "null_values"),
    ("in_range", "out_of_range"),
    ("greater_than_or_equal_to", "out_of_range"),
    ("isin", "unknown_category"),
    ("category_format", "bad_category"),
    ("field_uniqueness", "duplicate_ids"),
)


def check_rows(frame: pd.DataFrame) -> list[Failure]:
    """Row-level checks: types, nulls, ranges, categories, unique ids, timestamps."""
    import pandera.errors as pe

    failures = _check_time(frame[schema.TIME_COLUMN])
    body = frame.drop(columns=[schema.TIME_COLUMN])
    try:
        _row_schema(list(body.columns)).validate(body, lazy=True)
    except pe.SchemaErrors as errors:
        failures.extend(_failures_from(errors.failure_cases))
    return failures


KIND_TEXT = {
    "wrong_type": "value(s) of the wrong type",
    "null_values": "null value(s)",
    "out_of_range": "value(s) out of range",
    "unknown_category": "value(s) outside the allowed categories",
    "bad_category": "malformed category value(s)",
    "duplicate_ids": "duplicated id value(s)",
}


def _failures_from(cases: pd.DataFrame) -> list[Failure]:
    found: dict[tuple[str, str], dict[Any, Any]] = {}
    for column, check, value, index in zip(
        cases["column"], cases["check"], cases["failure_case"], cases["index"], strict=True
    ):
        kind = next((k for prefix, k in CHECK_KINDS if str(check).startswith(prefix)), str(check))
        found.setdefault((kind, str(column)), {}).setdefault(index, value)
    mistyped = {column for kind, column in found if kind == "wrong_type"}
    failures = []
    for (kind, column), by_row in found.items():
        if column in mistyped and kind != "wrong_type":
            continue  # checks on a column that did not parse only repeat the type error
        text = KIND_TEXT.get(kind, f"value(s) failing {kind}")
        detail = _range_text(column) if kind == "out_of_range" else ""
        failures.append(
            Failure(
                kind,
                f"{len(by_row)} {text} in column {column}{detail}",
                _examples(list(by_row.values())),
            )
        )
    return failures


def _range_text(column: str) -> str:
    if column not in schema.NUMERIC_RANGES:
        return ""
    low, high = schema.NUMERIC_RANGES[column]
    return f" (allowed {low:g} to {high:g})"


def _check_time(column: pd.Series) -> list[Failure]:
    parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    nulls = column.isna()
    failures = []
    if nulls.any():
        failures.append(
            Failure("null_values", f"{int(nulls.sum())} null(s) in column {schema.TIME_COLUMN}")
        )
    bad = parsed.isna() & ~nulls
    if bad.any():
        failures.append(
            Failure(
                "wrong_type",
                f"{int(bad.sum())} unparseable timestamp(s) in column {schema.TIME_COLUMN}",
                _examples(column[bad].tolist()),
            )
        )
    return failures


def _drift_warnings(frame: pd.DataFrame) -> list[str]:
    warnings = []
    for name in schema.OPEN_CATEGORICALS:
        seen = frame[name].astype(str)
        unseen = seen[~seen.isin(schema.CATEGORICAL_FEATURES[name])]
        if not unseen.empty:
            values = ", ".join(sorted(unseen.unique())[:MAX_EXAMPLES])
            warnings.append(f"{len(unseen)} row(s) with unseen {name} (drift signal): {values}")
    return warnings


def _examples(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values[:MAX_EXAMPLES]:
        if isinstance(value, float) and np.isnan(value):
            out.append(None)
        elif isinstance(value, np.generic):
            out.append(value.item())
        else:
            out.append(value if isinstance(value, int | float | bool | None) else str(value))
    return out


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
