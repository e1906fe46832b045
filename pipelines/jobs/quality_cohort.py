"""The quality step's copy of its last cohort's capture, so an hour's run reads one new hour.

The cohort is a day of predictions that moves on an hour each run: reading it
from the capture files would parse 24 hours of capture to add one. The step
keeps the rows it read (the ``ml.capture`` frame, every column) and, per
capture file, its ETag, its event count and the lines it refused, as one
Parquet object, ``quality/<endpoint>/cohort-capture.parquet`` in the monitoring
bucket. A run lists the cohort's capture once
(``capture_window.window_objects``), takes from the copy each file whose ETag
is unchanged, reads the others, and writes the copy of this cohort back. The
copy is a cache: a missing or unreadable one, or one written in another format,
only means the files are read again, so it is written without a condition.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ml.capture import (
    CAPTURE_SUFFIX,
    BadLine,
    CaptureBatch,
    FileRead,
    Window,
    combine_files,
    read_capture_file,
)
from ml.capture_format import empty_frame
from pipelines.definitions.monitoring import QUALITY_PREFIX
from pipelines.jobs.capture_window import get_file, window_objects

CACHE_FILE = "cohort-capture.parquet"
FORMAT = "1"
FILE_COLUMN = "capture_key"  # which capture file a cached row came from
META_KEY = b"mlops.capture_files"


def cache_key(endpoint: str) -> str:
    """Where the quality step of ``endpoint`` keeps its cohort's capture."""
    return f"{QUALITY_PREFIX}{endpoint}/{CACHE_FILE}"


class CohortCapture:
    """The cohort's capture rows: from the copy where the file is unchanged, else read."""

    def __init__(self, s3: Any, bucket: str, capture_prefix: str, key: str) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._root = capture_prefix if capture_prefix.endswith("/") else f"{capture_prefix}/"
        self._files: dict[str, dict[str, Any]] = {}  # key -> etag, events, refused lines
        self._rows: dict[str, pd.DataFrame] = {}
        self._kept: dict[str, tuple[dict[str, Any], pd.DataFrame]] = {}
        self.read_files = 0  # files read from the capture in this run

    def load(self) -> None:
        """Read the saved copy; a missing or unreadable one is an empty one."""
        from botocore.exceptions import ClientError

        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"].read()
            table = _parquet(body)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            return
        if table is None:
            return
        frame, meta = table
        if meta.get("format") != FORMAT:
            return
        self._files = dict(meta.get("files", {}))
        rows = {k: g.drop(columns=FILE_COLUMN) for k, g in frame.groupby(FILE_COLUMN, sort=False)}
        # A file without a readable row is read as ``empty_frame()``, and kept as no rows.
        self._rows = {key: rows.get(key, empty_frame()) for key in self._files}

    def read(self, window: Window, work: Path) -> CaptureBatch:
        """The window's capture as ``read_capture`` reads it: files in key order, rows in window."""
        reads: dict[Path, FileRead] = {}
        self._kept = {}
        for item in window_objects(self._s3, self._bucket, self._root, window):
            key = item["Key"]
            if not key.endswith(CAPTURE_SUFFIX):
                continue
            path, etag = work / key[len(self._root) :], str(item.get("ETag", ""))
            saved = self._files.get(key)
            if saved is not None and saved["etag"] == etag and key in self._rows:
                frame = self._rows[key].reset_index(drop=True)
                refused = [
                    BadLine(path, n, reason, message, "") for n, reason, message in saved["refused"]
                ]
                reads[path] = (frame, int(saved["events"]), refused)
            else:
                reads[path] = read_capture_file(get_file(self._s3, self._bucket, key, path))
                self.read_files += 1
            frame, events, refused = reads[path]
            about = {"etag": etag, "events": events, "refused": _lines(refused)}
            self._kept[key] = (about, frame)
        return combine_files(reads, window)

    def save(self) -> None:
        """Write the copy of the files this run's window held."""
        parts = [
            frame.assign(**{FILE_COLUMN: key})
            for key, (_, frame) in self._kept.items()
            if len(frame)
        ]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({FILE_COLUMN: []})
        meta = {"format": FORMAT, "files": {key: about for key, (about, _) in self._kept.items()}}
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._key,
            Body=_parquet_bytes(frame, meta),
            ContentType="application/vnd.apache.parquet",
        )

    def describe(self) -> dict[str, int]:
        return {"files_read": self.read_files, "files_from_copy": len(self._kept) - self.read_files}


def _lines(refused: list[BadLine]) -> list[list[Any]]:
    return [[bad.line, bad.reason, bad.message] for bad in refused]


def _parquet_bytes(frame: pd.DataFrame, meta: dict[str, Any]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Zoned times go in as arrow arrays: handing pyarrow the pandas column is deprecated.
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    table = pa.Table.from_pandas(frame.drop(columns=zoned), preserve_index=False)
    for column in zoned:
        times = frame[column].dt
        kind = pa.timestamp(times.unit, tz=str(times.tz))
        table = table.append_column(column, pa.array(times.tz_convert(None).to_numpy(), kind))
    table = table.select(list(frame.columns))
    schema_meta = {**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(schema_meta), buffer)
    return buffer.getvalue()


def _parquet(body: bytes) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The copy's rows and what it says of its files; None when it cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body))
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    except (pa.ArrowException, ValueError, OSError):
        return None
    if FILE_COLUMN not in table.column_names or not isinstance(meta, dict):
        return None
    return table.to_pandas(), meta
