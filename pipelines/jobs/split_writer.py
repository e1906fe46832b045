"""The Features step's reading and time split, in memory that does not grow with the drop.

``conformed_batches`` reads a validated file in batches (``ml.io.open_batches``)
and converts each with Validate's conversion (``ml.conform``); a value that
would not convert means the file skipped Validate, which is a clear error
rather than a ``TypeError`` deep in pandas.

``test_rows`` marks the rows of the test split exactly as ``ml.train.time_split``
would on all files concatenated (a stable sort by event time, the latest
``share`` held out), from the event times alone: 8 bytes a row for the times,
8 for their order and 1 for the mark. ``SplitWriter`` then appends each
batch's train and test rows to two Parquet files; rows keep their input order
(training sorts by time itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.conform import (
    NUMBER_COLUMNS,
    TIME_UNIT,
    WHOLE_NUMBER_COLUMNS,
    conform,
    output_types,
)
from ml.errors import MlopsError


class UnvalidatedDataError(MlopsError):
    """A file given to Features holds values Validate would have refused."""


def conformed_batches(path: Path, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The file's rows in batches, in the schema's types and column order."""
    from ml.io import open_batches

    _, batches = open_batches(path, columns)
    for batch in batches:
        converted = conform(batch)
        if converted.wrong:
            column = next(iter(converted.wrong))
            raise UnvalidatedDataError(
                f"{path.name}: column {column} holds values of the wrong type; "
                "Features reads only files that passed Validate"
            )
        frame = converted.frame
        yield output_types(frame[[c for c in schema.COLUMNS if c in frame.columns]])


def test_rows(files: list[Path], share: float) -> np.ndarray:
    """A mask over all rows of ``files`` (in order): True for the rows of the test split."""
    times = [
        batch[schema.TIME_COLUMN]
        .dt.tz_convert(None)
        .to_numpy()
        .astype("datetime64[us]")
        .view(np.int64)
        for path in files
        for batch in conformed_batches(path, [schema.TIME_COLUMN])
    ]
    everything = np.concatenate(times) if times else np.empty(0, dtype=np.int64)
    cut = int(len(everything) * (1 - share))
    held_out = np.zeros(len(everything), dtype=bool)
    held_out[np.argsort(everything, kind="stable")[cut:]] = True
    return held_out


def _arrow(frame: pd.DataFrame) -> Any:
    """A batch as an Arrow table, event time a UTC timestamp (converted by hand: pyarrow's
    own conversion of a zone-aware column warns under pandas 3)."""
    import pyarrow as pa

    if schema.TIME_COLUMN not in frame:
        return pa.Table.from_pandas(frame, preserve_index=False)
    naive = frame.assign(**{schema.TIME_COLUMN: frame[schema.TIME_COLUMN].dt.tz_convert(None)})
    table = pa.Table.from_pandas(naive, preserve_index=False)
    index = table.schema.get_field_index(schema.TIME_COLUMN)
    utc = table.column(index).cast(pa.timestamp(TIME_UNIT, tz="UTC"))
    return table.set_column(index, schema.TIME_COLUMN, utc)


def _output_schema(columns: list[str]) -> Any:
    """The Arrow types of the schema's columns as the steps write them (``ml.conform``)."""
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name == schema.TIME_COLUMN:
            return pa.timestamp(TIME_UNIT, tz="UTC")
        if name in WHOLE_NUMBER_COLUMNS:
            return pa.int64()
        return pa.float64() if name in NUMBER_COLUMNS else pa.string()

    return pa.schema([(name, kind(name)) for name in columns])


class SplitWriter:
    """Two Parquet files, train and test, appended to batch by batch."""

    def __init__(self, train: Path, test: Path) -> None:
        self.paths = (train, test)
        self.writers: list[Any] = []
        self.schema: Any = None

    def __enter__(self) -> SplitWriter:
        return self

    def write(self, train: pd.DataFrame, test: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        if not self.writers:
            self.schema = _output_schema(list(train.columns))
            for path in self.paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writers.append(pq.ParquetWriter(path, self.schema))
        for writer, part in zip(self.writers, (train, test), strict=True):
            if len(part):
                writer.write_table(_arrow(part).cast(self.schema))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for writer in self.writers:
            writer.close()
        if not self.writers and kind is None:  # no rows at all: two empty tables
            from ml.io import write_table

            for path in self.paths:
                write_table(pd.DataFrame(columns=list(schema.COLUMNS)), path)
