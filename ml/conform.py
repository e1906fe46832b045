"""The schema's types, and the one conversion that reaches them from what a file holds.

A CSV file holds text and a Parquet file whatever types its writer chose, so
every step that reads raw data converts it the same way: Validate converts each
batch to find the values that do not convert (and quarantines their file),
Features converts the validated files with the same function, so a file that
passed Validate converts in Features. The types:

- numbers (the features, the id, the label) from numbers, booleans or numeric
  text, as int64 where all are integers (ids stay exact) and float64 otherwise;
  Validate checks that the integer columns hold whole numbers, and
  ``output_types`` writes those as int64;
- categories as text;
- ``event_time`` as a UTC timestamp, from a zone-aware timestamp column or from
  ISO 8601 text with an offset (``Z``, ``+01:00``). A timestamp without a zone
  is refused: its instant would depend on the machine that wrote it, and mixed
  with zone-aware ones it cannot even be sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from ml import schema

NUMBER_COLUMNS = (schema.ID_COLUMN, *schema.NUMERIC_FEATURES, schema.LABEL_COLUMN)
WHOLE_NUMBER_COLUMNS = frozenset({schema.ID_COLUMN, schema.LABEL_COLUMN, *schema.INTEGER_FEATURES})
ZONE_SUFFIX = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
TIME_UNIT = "us"


@dataclass
class Conformed:
    """A batch in the schema's types; ``wrong`` marks, per column, values that did not convert.

    ``naive`` marks the event times that are timestamps without a zone (they are
    in ``wrong`` too). Unconverted values are null in ``frame``.
    """

    frame: pd.DataFrame
    wrong: dict[str, pd.Series] = field(default_factory=dict)
    naive: pd.Series | None = None


def conform(frame: pd.DataFrame) -> Conformed:
    """Convert the schema's columns of ``frame``; other columns pass through unchanged."""
    columns: dict[str, pd.Series] = {}
    result = Conformed(frame)
    for name in frame.columns:
        column = frame[name]
        if name == schema.TIME_COLUMN:
            converted, wrong, result.naive = event_times(column)
        elif name in NUMBER_COLUMNS:
            converted, wrong = numbers(column, whole=name in WHOLE_NUMBER_COLUMNS)
        elif name in schema.CATEGORICAL_FEATURES:
            converted, wrong = categories(column)
        else:
            columns[str(name)] = column
            continue
        columns[str(name)] = converted
        if wrong.any():
            result.wrong[str(name)] = wrong
    result.frame = pd.DataFrame(columns, index=frame.index)
    return result


def numbers(column: pd.Series, whole: bool = False) -> tuple[pd.Series, pd.Series]:
    """Numbers (int64 where every value is an integer, so large ids stay exact; else float64),
    and the mask of values that are not numbers. ``whole``: the column should hold integers."""
    nothing = pd.Series(False, index=column.index)
    if pd.api.types.is_integer_dtype(column) and not column.isna().any():
        return column.astype("int64"), nothing
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.astype("float64"), nothing
    if isinstance(column.dtype, pd.StringDtype):
        parsed = _cast_text(column, whole)
        if parsed is not None:
            return parsed, nothing
    converted = pd.to_numeric(column, errors="coerce")
    if not pd.api.types.is_integer_dtype(converted):
        converted = converted.astype("float64")
    return converted, converted.isna() & column.notna()


def _cast_text(column: pd.Series, whole: bool) -> pd.Series | None:
    """Text that is all numbers, cast by Arrow in one go; None when some value is not one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(column, from_pandas=True)
    for kind in (pa.int64(), pa.float64()) if whole else (pa.float64(),):
        try:
            values = pc.cast(array, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        numbers = pd.Series(values.to_numpy(zero_copy_only=False), index=column.index)
        return numbers if values.null_count == 0 else numbers.astype("float64")
    return None


def categories(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text values, and the mask of values that are not text (numbers, dates)."""
    if isinstance(column.dtype, pd.StringDtype):
        return column, pd.Series(False, index=column.index)
    values = column.astype(object)
    is_text = values.map(lambda value: isinstance(value, str))
    wrong = ~is_text & values.notna()
    return values.where(is_text, None), wrong


def event_times(column: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """UTC timestamps, the mask of values that are no zone-aware time, and of the naive ones."""
    nothing = pd.Series(False, index=column.index)
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.as_unit(TIME_UNIT), nothing, nothing
    if pd.api.types.is_datetime64_dtype(column):
        naive = column.notna()
        return pd.Series(pd.NaT, index=column.index, dtype=_utc_dtype()), naive, naive
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return pd.Series(pd.NaT, index=column.index, dtype=_utc_dtype()), column.notna(), nothing
    text = (
        column if isinstance(column.dtype, pd.StringDtype) else column.astype(object).map(_as_text)
    )
    present = text.notna()
    zoned = text.str.contains(ZONE_SUFFIX, regex=True, na=False)
    parsed = _parse(text.where(zoned), utc=True)
    naive = present & ~zoned & _parse(text.where(present & ~zoned), utc=False).notna()
    return parsed, present & parsed.isna(), naive


def _as_text(value: Any) -> Any:
    """A timestamp object as ISO 8601 text (with its offset, if it has one); text as it is."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str) or value is None or value != value else repr(value)


def _parse(text: pd.Series, utc: bool) -> pd.Series:
    parsed = pd.to_datetime(text, utc=utc, errors="coerce", format="ISO8601")
    if utc:
        return parsed.dt.as_unit(TIME_UNIT)
    return parsed


def _utc_dtype() -> pd.DatetimeTZDtype:
    return pd.DatetimeTZDtype(unit=TIME_UNIT, tz="UTC")


def output_types(frame: pd.DataFrame) -> pd.DataFrame:
    """A conformed, validated batch as the steps write it: whole-number columns as int64."""
    cast = {name: "int64" for name in frame.columns if name in WHOLE_NUMBER_COLUMNS}
    return frame.astype(cast)
