"""File-level checks: what makes a data file unreadable, found without loading it.

Each check reads at most the head and the tail of the file, or streams it once
(the UTF-8 check), so a large drop costs no more memory than a small one: empty,
not the format its name says, cut short (a Parquet file without its footer, a
CSV file whose last line lacks fields), binary in a CSV, not UTF-8.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNIFF_BYTES = 1 << 16
TAIL_BYTES = 1 << 16
STREAM_BYTES = 1 << 20
PARQUET_MAGIC = b"PAR1"


@dataclass
class Failure:
    """One failed check with a readable message and a few offending values."""

    check: str
    message: str
    examples: list[Any] = field(default_factory=list)


def file_failure(path: Path) -> Failure | None:
    """The first file-level problem of ``path``, or None when its rows can be read."""
    size = path.stat().st_size
    if size == 0:
        return Failure("empty_file", "the file is empty (0 bytes)")
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"} or (suffix != ".csv" and head[:4] == PARQUET_MAGIC):
        return _parquet_failure(head, tail, size)
    if suffix != ".csv":
        return Failure(
            "unsupported_format", f"extension {suffix or '(none)'!r} is not .csv or .parquet"
        )
    if b"\x00" in head or head[:4] == PARQUET_MAGIC:
        return Failure("not_csv", "binary content in a .csv file")
    return _encoding_failure(path) or _truncated_csv(head, tail)


def _parquet_failure(head: bytes, tail: bytes, size: int) -> Failure | None:
    if head[:4] != PARQUET_MAGIC:
        return Failure("not_parquet", "the file has a .parquet name but no Parquet header")
    if size < 12 or tail[-4:] != PARQUET_MAGIC:
        return Failure("truncated", "the Parquet footer is missing: the file was cut short")
    return None


def _encoding_failure(path: Path) -> Failure | None:
    """The first byte that is not UTF-8, found by streaming the file through a decoder."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(STREAM_BYTES)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                where = offset - len(pending) + error.start
                data = pending + block
                snippet = data[max(0, error.start - 10) : error.start + 10]
                return Failure("bad_encoding", f"not UTF-8 at byte {where}", [repr(snippet)])
            if not block:
                return None
            offset += len(block)


def _truncated_csv(head: bytes, tail: bytes) -> Failure | None:
    """A last line with fewer fields than the header: the file was cut mid-row."""
    header = head.split(b"\n", 1)[0]
    lines = tail.rstrip(b"\r\n").split(b"\n")
    last = lines[-1]
    if len(lines) < 2 and tail.rstrip(b"\r\n") == header.rstrip(b"\r\n"):
        return None  # the header is the only line
    if last.count(b",") < header.count(b","):
        text = last.decode("utf-8", errors="replace")
        return Failure(
            "truncated",
            f"the last line has {last.count(b',') + 1} of {header.count(b',') + 1} fields",
            [text[:80]],
        )
    return None
