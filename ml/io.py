"""Reading and writing files: tables (CSV or Parquet, by extension) and atomic writes.

SageMaker channels are directories of files, so readers accept a file or a
directory and concatenate every table file in it in name order. Steps that
read a whole data drop (Validate, Features) stream it in batches of bounded
size instead (``open_batches``), so their memory does not grow with the drop.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from ml import schema
from ml.errors import MlopsError

# A batch: a 4 MiB block of CSV (about 45,000 transactions) or 65,536 Parquet rows.
CSV_BLOCK_BYTES = 4 << 20
PARQUET_BATCH_ROWS = 1 << 16
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES


class DataFileError(MlopsError):
    """A data path that does not exist, is empty or has an unknown format."""


def table_format(path: Path) -> str:
    """Return ``csv`` or ``parquet`` for a path, from its extension."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise DataFileError(
        f"{path}: unsupported extension {suffix or '(none)'!r}; use .csv or .parquet"
    )


def table_files(path: Path) -> list[Path]:
    """The table files a path names: itself, or the table files inside a directory."""
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
        )
        if not files:
            raise DataFileError(f"{path}: no .csv or .parquet files in this directory")
        return files
    if not path.exists():
        raise DataFileError(f"{path}: no such file or directory; check the path")
    table_format(path)
    return [path]


def read_table(path: Path) -> pd.DataFrame:
    """Read one file or every table file of a directory into one DataFrame."""
    frames = [_read_one(file) for file in table_files(path)]
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _read_one(path: Path) -> pd.DataFrame:
    if table_format(path) == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, engine="pyarrow")


def open_batches(
    path: Path, columns: Sequence[str] | None = None
) -> tuple[list[str], Iterator[pd.DataFrame]]:
    """The column names of one table file, and its rows in batches of bounded size.

    CSV columns of the schema are read as text (``ml.conform`` converts them, so
    every batch of every file converts alike); empty fields are nulls. pyarrow's
    errors (a ragged row, a corrupt page) surface while iterating.
    """
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        # Column chunks streamed in 1 MiB reads rather than loaded whole.
        handle = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
        names = list(handle.schema_arrow.names)
        batches = handle.iter_batches(
            batch_size=PARQUET_BATCH_ROWS, columns=columns, use_threads=False
        )
        return names, (batch.to_pandas() for batch in batches)
    import pyarrow as pa
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(
        path,
        # One block at a time: a parallel reader parses blocks ahead and holds them.
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in schema.COLUMNS},
            strings_can_be_null=True,
            include_columns=list(columns) if columns is not None else None,
        ),
    )
    return list(reader.schema.names), (batch.to_pandas() for batch in reader)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV or Parquet according to the path's extension."""
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so a reader sees the old content or the new, never half of it.

    The bytes go to a hidden temporary name beside the target, are fsynced, and
    the name is swapped in with ``os.replace``.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temporary behind
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_files(paths: Iterable[Path]) -> str:
    """One fingerprint of several files: sha256 of their bytes in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
