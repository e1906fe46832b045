"""The checks one data file must pass: file level first, then row level, batch by batch.

File-level checks (``ml.file_checks``) catch what makes a file unreadable
(empty, truncated, not CSV or Parquet, bad encoding); then the header must
name the schema's columns. Rows are read in batches of bounded size
(``ml.io.open_batches``) and converted to the schema's types with the function
the Features step uses (``ml.conform``), so a value that would not convert
there is a ``wrong_type`` here; pandera checks each converted batch for what a
model must not learn from (nulls, out-of-range values, unknown closed-set
categories, fractional integers), and the ids of all batches must be unique.
An unseen merchant category is a drift signal, not corruption: it is reported
as a warning and the file passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.conform import Conformed, conform
from ml.file_checks import Failure, file_failure

MAX_EXAMPLES = 5
__all__ = ["CheckResult", "Failure", "check_file"]


@dataclass
class CheckResult:
    """What checking one file found; ``ids`` are its transaction ids once its rows were read."""

    rows: int | None = None
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ids: np.ndarray | None = None


class UnreadableError(Exception):
    """The table reader gave up on a file part-way (a ragged CSV row, a corrupt page)."""


def check_file(path: Path, require_label: bool = True) -> CheckResult:
    """Run every check on one file; stop at the first file-level failure."""
    from ml.io import open_batches

    result = CheckResult()
    failure = file_failure(path)
    if failure is None:
        try:
            columns, batches = open_batches(path)
        except Exception as error:  # pyarrow raises many types for corrupt files
            failure = _unreadable(path, error)
    if failure is not None:
        result.failures.append(failure)
        return result
    result.failures.extend(_check_columns(columns, require_label))
    if result.failures:
        return result
    try:
        _check_rows(_guarded(batches), result)
    except UnreadableError as error:
        result.rows, result.ids = None, None
        result.failures = [_unreadable(path, error.__cause__ or error)]
    return result


def _guarded(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The batches, with the reader's own errors (not the checks') as UnreadableError."""
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as error:  # pyarrow's errors have no common base we can name
            raise UnreadableError(str(error)) from error
        yield batch


def _unreadable(path: Path, error: BaseException) -> Failure:
    line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    if path.suffix.lower() == ".csv":
        return Failure("malformed_csv", f"CSV parser failed: {line}")
    return Failure("unreadable_parquet", f"Parquet reader failed: {line}")


def _check_columns(columns: list[str], require_label: bool) -> list[Failure]:
    required = [c for c in schema.COLUMNS if require_label or c != schema.LABEL_COLUMN]
    missing = [c for c in required if c not in columns]
    extra = [str(c) for c in columns if c not in schema.COLUMNS]
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


def _check_rows(batches: Iterator[pd.DataFrame], result: CheckResult) -> None:
    tally = Tally()
    ids: list[np.ndarray] = []
    unseen: Counter[str] = Counter()
    rows = 0
    for batch in batches:
        rows += len(batch)
        converted = conform(batch)
        tally.add_conversion(batch, converted)
        tally.add_rows(converted.frame)
        ids.append(_whole_ids(converted.frame[schema.ID_COLUMN]))
        unseen.update(_unseen_categories(converted.frame))
    result.rows = rows
    if rows == 0:
        result.failures.append(Failure("no_rows", "the file has a header but no rows"))
        return
    result.ids = np.concatenate(ids)
    duplicated = _duplicates(result.ids)
    if duplicated.size:
        text = KIND_TEXT["duplicate_ids"]
        tally.add("duplicate_ids", schema.ID_COLUMN, text, pd.Series(duplicated))
    result.failures.extend(tally.failures())
    if unseen:
        values = ", ".join(sorted(unseen)[:MAX_EXAMPLES])
        name = next(iter(schema.OPEN_CATEGORICALS))
        result.warnings.append(
            f"{sum(unseen.values())} row(s) with unseen {name} (drift signal): {values}"
        )


def _whole_ids(column: pd.Series) -> np.ndarray:
    """The ids that are whole numbers, as int64 (the rest are reported as wrong)."""
    values = column.dropna()
    if not pd.api.types.is_integer_dtype(values):
        values = values[np.equal(np.mod(values, 1), 0) & (values.abs() < 2**63)]
    return values.to_numpy(dtype=np.int64)


def _duplicates(ids: np.ndarray) -> np.ndarray:
    ordered = np.sort(ids, kind="stable")
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def _unseen_categories(frame: pd.DataFrame) -> Counter[str]:
    counts: Counter[str] = Counter()
    for name in schema.OPEN_CATEGORICALS:
        seen = frame[name].dropna()
        unseen = seen[~seen.isin(schema.CATEGORICAL_FEATURES[name])]
        counts.update(unseen.astype(str).tolist())
    return counts


class Tally:
    """Failures found batch by batch: rows per (check, column, text), and the first examples."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        self.examples: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, kind: str, column: str, text: str, values: pd.Series) -> None:
        """Count the failing ``values`` (one per row) and keep the first few as examples."""
        key = (kind, column, text)
        self.counts[key] = self.counts.get(key, 0) + len(values)
        kept = self.examples.setdefault(key, [])
        kept.extend(values.iloc[: MAX_EXAMPLES - len(kept)].tolist())

    def add_conversion(self, batch: pd.DataFrame, converted: Conformed) -> None:
        """Values of the wrong type; for event_time, nulls and times without a zone apart."""
        times = batch[schema.TIME_COLUMN]
        nulls = times.isna()
        if nulls.any():
            self.add("null_values", schema.TIME_COLUMN, "null(s)", times[nulls])
        naive = converted.naive if converted.naive is not None else nulls & False
        if naive.any():
            text = "timestamp(s) without a time zone (write 2026-01-01T00:00:00Z)"
            self.add("wrong_type", schema.TIME_COLUMN, text, times[naive])
        for column, wrong in converted.wrong.items():
            if column == schema.TIME_COLUMN:
                wrong = wrong & ~naive
                text = "unparseable timestamp(s)"
            else:
                text = KIND_TEXT["wrong_type"]
            if wrong.any():
                self.add("wrong_type", column, text, batch[column][wrong])

    def add_rows(self, frame: pd.DataFrame) -> None:
        """Row-level checks of pandera on a converted batch."""
        import pandera.errors as pe

        body = frame.drop(columns=[schema.TIME_COLUMN])
        try:
            _row_schema(list(body.columns)).validate(body, lazy=True)
        except pe.SchemaErrors as errors:
            cases = errors.failure_cases.astype({"column": str, "check": str})
            for (column, check), group in cases.groupby(["column", "check"], sort=False):
                kind = next((k for prefix, k in CHECK_KINDS if check.startswith(prefix)), check)
                text = KIND_TEXT.get(kind, f"value(s) failing {kind}")
                self.add(kind, column, text, group["failure_case"])

    def failures(self) -> list[Failure]:
        mistyped = {col for kind, col, _ in self.counts if kind == "wrong_type"}
        failures = []
        for (kind, column, text), count in self.counts.items():
            if column in mistyped and kind != "wrong_type" and column != schema.TIME_COLUMN:
                continue  # checks on values that did not convert only repeat the type error
            failures.append(
                Failure(
                    kind,
                    f"{count} {text} in column {column}{_range_text(kind, column)}",
                    _examples(self.examples[(kind, column, text)]),
                )
            )
        return failures


def _row_schema(columns: list[str]) -> Any:
    import pandera.pandas as pa

    integer = pa.Check(
        lambda s: np.equal(np.mod(s, 1), 0), element_wise=False, name="integer_valued"
    )
    cols: dict[str, Any] = {
        schema.ID_COLUMN: pa.Column(None, [integer, pa.Check.ge(0)]),
        schema.LABEL_COLUMN: pa.Column(None, pa.Check.isin([0, 1])),
    }
    for name, (low, high) in schema.NUMERIC_RANGES.items():
        checks = [pa.Check.in_range(low, high)]
        if name in schema.INTEGER_FEATURES:
            checks.append(integer)
        cols[name] = pa.Column(None, checks)
    for name, allowed in schema.CATEGORICAL_FEATURES.items():
        check = (
            pa.Check.str_matches(r"^[a-z][a-z0-9_]{0,63}$", name="category_format")
            if name in schema.OPEN_CATEGORICALS
            else pa.Check.isin(list(allowed))
        )
        cols[name] = pa.Column(None, check)
    return pa.DataFrameSchema({k: v for k, v in cols.items() if k in columns}, strict=False)


CHECK_KINDS = (
    ("integer_valued", "wrong_type"),
    ("not_nullable", "null_values"),
    ("in_range", "out_of_range"),
    ("greater_than_or_equal_to", "out_of_range"),
    ("isin", "unknown_category"),
    ("category_format", "bad_category"),
)
KIND_TEXT = {
    "wrong_type": "value(s) of the wrong type",
    "null_values": "null value(s)",
    "out_of_range": "value(s) out of range",
    "unknown_category": "value(s) outside the allowed categories",
    "bad_category": "malformed category value(s)",
    "duplicate_ids": "duplicated id value(s)",
}


def _range_text(kind: str, column: str) -> str:
    if kind != "out_of_range" or column not in schema.NUMERIC_RANGES:
        return ""
    low, high = schema.NUMERIC_RANGES[column]
    return f" (allowed {low:g} to {high:g})"


def _examples(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values[:MAX_EXAMPLES]:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
        elif isinstance(value, np.generic):
            out.append(value.item())
        else:
            out.append(value if isinstance(value, int | float | bool) else str(value))
    return out
