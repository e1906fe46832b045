"""Which capture file holds which request: the feedback step's index of its look-back.

A label names its request by ``eventId`` alone and may come up to the look-back
(a week) after the prediction, so finding the labelled requests by reading the
look-back's capture would read every capture file once an hour, 168 times over.
The index records, for each capture file of the look-back (key and ETag), a
4-byte digest (blake2b) of the event id on each of its lines, and is kept as one
gzipped JSON object, ``feedback/<endpoint>/capture-index.json.gz`` in the
monitoring bucket (8 hex characters a line, gzipped). Each run lists the
look-back's capture once (``capture_window.window_objects``), indexes only the
files it does not hold yet (or whose ETag changed), forgets the files no longer
listed, and reads, for a window's labels, only the files that hold their event
ids, and of those only the lines. A digest shared by chance costs one more line
read, never a row: the join is on the full ids. The index is a cache: a
missing, unreadable or older copy (two runs raced) only means files are read
and indexed again, so it is written without a condition.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.capture import (
    CAPTURE_SUFFIX,
    CaptureBatch,
    FileRead,
    Window,
    combine_files,
    file_hour,
    read_capture_file,
)
from pipelines.jobs.capture_window import get_file, window_objects

INDEX_FILE = "capture-index.json.gz"
DIGEST_BYTES = 4
DIGEST_CHARS = 2 * DIGEST_BYTES
FORMAT = 2
UNREAD = "-" * DIGEST_CHARS  # a line without an event id to index


def digest(event_id: str) -> str:
    """The event id's index entry: the hex of its first 4 blake2b bytes."""
    return hashlib.blake2b(str(event_id).encode(), digest_size=DIGEST_BYTES).hexdigest()


def digests(entry: str) -> list[str]:
    """A file's entry as the digest of each line, in line order (8 characters each)."""
    return [entry[i : i + DIGEST_CHARS] for i in range(0, len(entry), DIGEST_CHARS)]


def line_digest(line: str) -> str:
    """The digest of a capture line's ``eventMetadata.eventId``; ``UNREAD`` if it has none."""
    try:
        event_id = json.loads(line)["eventMetadata"]["eventId"]
    except (ValueError, TypeError, KeyError):
        return UNREAD
    return digest(event_id) if isinstance(event_id, str) and event_id else UNREAD


class CaptureIndex:
    """The look-back's capture files and their event-id digests; the files read in this run."""

    def __init__(self, s3: Any, bucket: str, capture_prefix: str, index_prefix: str) -> None:
        self._s3, self._bucket = s3, bucket
        self._root = capture_prefix if capture_prefix.endswith("/") else f"{capture_prefix}/"
        self._key = f"{index_prefix}{INDEX_FILE}"
        self._files: dict[str, dict[str, str]] = {}  # key -> {"etag", "events"}
        self._read: dict[str, FileRead] = {}  # what the joins read, by key
        self.indexed = 0  # files read this run to index them
        self.changed = False

    def load(self) -> None:
        """Read the saved index; a missing or unreadable one is an empty one (it is a cache)."""
        from botocore.exceptions import ClientError

        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"].read()
            saved = json.loads(gzip.decompress(body))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            return
        except (OSError, EOFError, ValueError):
            return
        if isinstance(saved, dict) and saved.get("format") == FORMAT:
            self._files = dict(saved.get("files", {}))

    def refresh(self, window: Window, work: Path) -> None:
        """Index the window's capture files it does not hold yet; forget the ones not listed."""
        listed = {
            item["Key"]: str(item.get("ETag", ""))
            for item in window_objects(self._s3, self._bucket, self._root, window)
            if item["Key"].endswith(CAPTURE_SUFFIX)
        }
        for key in [k for k in self._files if k not in listed]:
            del self._files[key]
            self.changed = True
        for key, etag in listed.items():
            if self._files.get(key, {}).get("etag") != etag:
                text = self._text(key, work)
                lines = text.splitlines() if text is not None else []
                entry = "".join(line_digest(line) for line in lines)
                self._files[key] = {"etag": etag, "events": entry}
                self.indexed += 1
                self.changed = True

    def holding(self, event_ids: Iterable[str], window: Window) -> dict[str, set[int]]:
        """The indexed files of the window's hours that may hold the events, and on which lines."""
        wanted = {digest(event_id) for event_id in event_ids}
        found = {}
        for key in sorted(self._files):
            if not _in_window(self._root, key, window):
                continue
            lines = {
                number
                for number, line in enumerate(digests(self._files[key]["events"]), 1)
                if line in wanted
            }
            if lines:
                found[key] = lines
        return found

    def batch(self, lines: dict[str, set[int]], window: Window, work: Path) -> CaptureBatch:
        """Those lines of those files, rows in the window, in key order as ``read_capture``."""
        read = {}
        for key in sorted(lines):
            path = self._download(key, work)
            read[path] = self._read[key] = read_capture_file(path, lines[key])
        return combine_files(read, window)

    def read_this_run(self, work: Path) -> CaptureBatch:
        """The lines this run read for its joins, for the report and the heartbeat."""
        return combine_files({self._path(k, work): self._read[k] for k in sorted(self._read)})

    def _path(self, key: str, work: Path) -> Path:
        return work / key[len(self._root) :]

    def _download(self, key: str, work: Path) -> Path:
        """One capture file, downloaded once per run."""
        path = self._path(key, work)
        return path if path.is_file() else get_file(self._s3, self._bucket, key, path)

    def _text(self, key: str, work: Path) -> str | None:
        """One capture file's text; None if it is not UTF-8 (then no line is indexed)."""
        try:
            return self._download(key, work).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return None

    def describe(self) -> dict[str, int]:
        return {"indexed_files": len(self._files), "newly_indexed": self.indexed}

    def save(self) -> None:
        """Write the index if this run changed it."""
        if not self.changed:
            return
        body = json.dumps({"format": FORMAT, "files": self._files}, sort_keys=True).encode()
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._key,
            Body=gzip.compress(body, mtime=0),
            ContentType="application/gzip",
        )
        self.changed = False


def _in_window(root: str, key: str, window: Window) -> bool:
    hour: datetime | None = file_hour(Path(key[len(root) :]))
    return hour is not None and window.overlaps_hour(hour)
