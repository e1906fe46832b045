"""Endpoint data capture files read into rows (``ml.capture_format`` is the line format).

A capture path is a ``.jsonl`` file or a directory of them laid out as the
endpoint writes them (``<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl``); a
``Window`` picks files by their hour folders, then events by time. A line that
cannot be read is returned with its reason, never dropped, and never stops the
other lines; ``quarantine_lines`` keeps copies of such lines with their reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ml.capture_format import (
    CAPTURE_COLUMNS,
    CAPTURE_SUFFIX,
    EVENT_ID,
    EVENT_ROW,
    EVENT_VERSION,
    INFERENCE_ID,
    INFERENCE_TIME,
    PREDICTION,
    SCORE,
    CapturedEvent,
    CaptureInputError,
    CaptureLineError,
    empty_frame,
    events_frame,
    parse_record,
)
from ml.window import Window

# What readers of capture use, whichever module defines it.
__all__ = [
    "CAPTURE_COLUMNS",
    "CAPTURE_SUFFIX",
    "EVENT_ID",
    "EVENT_ROW",
    "EVENT_VERSION",
    "INFERENCE_ID",
    "INFERENCE_TIME",
    "PREDICTION",
    "SCORE",
    "BadLine",
    "CaptureBatch",
    "CaptureInputError",
    "Window",
    "capture_files",
    "combine_files",
    "file_hour",
    "is_capture_path",
    "quarantine_lines",
    "read_capture",
    "read_capture_file",
]

_HOUR_PATH = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}$")


@dataclass(frozen=True)
class BadLine:
    """One capture line that could not be read, with the reason and the original text."""

    file: Path
    line: int
    reason: str
    message: str
    text: str

    def describe(self) -> dict[str, Any]:
        """The line's reason record, without its text."""
        return {
            "file": str(self.file),
            "line": self.line,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass
class CaptureBatch:
    """What a set of capture files held: one row per request row, and the lines refused."""

    frame: pd.DataFrame
    files: list[Path]
    events: int
    bad_lines: list[BadLine] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts for a report: files, events and rows read, lines refused by reason."""
        reasons: dict[str, int] = {}
        for bad in self.bad_lines:
            reasons[bad.reason] = reasons.get(bad.reason, 0) + 1
        return {
            "files": len(self.files),
            "events": self.events,
            "rows": len(self.frame),
            "malformed_lines": len(self.bad_lines),
            "malformed_by_reason": dict(sorted(reasons.items())),
        }


def is_capture_path(path: Path) -> bool:
    """Whether a path is capture data: a ``.jsonl`` file, or a directory of them and no tables."""
    from ml.io import TABLE_SUFFIXES

    if path.is_file():
        return path.suffix.lower() == CAPTURE_SUFFIX
    if not path.is_dir():
        return False
    files = [p for p in path.rglob("*") if p.is_file()]
    has_capture = any(p.suffix.lower() == CAPTURE_SUFFIX for p in files)
    return has_capture and not any(p.suffix.lower() in TABLE_SUFFIXES for p in files)


def file_hour(path: Path) -> datetime | None:
    """The UTC hour a capture file's ``yyyy/mm/dd/hh`` folders name, or None off that layout."""
    parts = path.parent.parts[-4:]
    if len(parts) < 4 or not _HOUR_PATH.match("/".join(parts)):
        return None
    year, month, day, hour = (int(p) for p in parts)
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


def capture_files(path: Path, window: Window | None = None) -> list[Path]:
    """The capture files under a path, in name order; with a window, those of its hours.

    The hour comes from the path, so a window reads only the files it needs.
    Quarantined lines (a file with a ``.reason.json`` beside it) are never read again.
    """
    from ml.quarantine import reason_path

    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.rglob(f"*{CAPTURE_SUFFIX}") if p.is_file())
    else:
        raise CaptureInputError(f"{path}: no such file or directory; check the path")
    if not candidates:
        raise CaptureInputError(f"{path}: no {CAPTURE_SUFFIX} capture files here; check the path")
    files = [p for p in candidates if not reason_path(p).exists()]
    if window is not None and (window.start is not None or window.end is not None):
        selected = []
        for file in files:
            hour = file_hour(file)
            if hour is None:
                raise CaptureInputError(
                    f"{file}: not under <endpoint>/<variant>/yyyy/mm/dd/hh/, so a window "
                    "cannot place it; point at the capture prefix or drop the window"
                )
            if window.overlaps_hour(hour):
                selected.append(file)
        files = selected
    if not files:
        bounds = (window or Window()).describe()
        raise CaptureInputError(
            f"{path}: no capture files between {bounds['start'] or 'the start'} and "
            f"{bounds['end'] or 'now'}; widen the window or check the path"
        )
    return files


def read_capture(path: Path, window: Window | None = None) -> CaptureBatch:
    """Read every capture file of a path (and window) into one frame plus the refused lines."""
    return combine_files(
        {file: read_capture_file(file) for file in capture_files(path, window)}, window
    )


FileRead = tuple[pd.DataFrame, int, list[BadLine]]  # what ``read_capture_file`` returns


def combine_files(read: dict[Path, FileRead], window: Window | None = None) -> CaptureBatch:
    """Files already read (``read_capture_file``), in the given order, as one batch in ``window``.

    A caller that reads some files once for several windows combines them here.
    """
    parts: list[pd.DataFrame] = []
    bad: list[BadLine] = []
    events = 0
    for frame, count, refused in read.values():
        parts.append(frame)
        events += count
        bad.extend(refused)
    frame = pd.concat(parts, ignore_index=True) if parts else empty_frame()
    if window is not None and len(frame):
        inside = window.contains(frame[INFERENCE_TIME])
        events -= frame.loc[~inside, EVENT_ID].nunique()
        frame = frame[inside].reset_index(drop=True)
    return CaptureBatch(frame, list(read), events, bad)


def read_capture_file(
    path: Path, lines: Collection[int] | None = None
) -> tuple[pd.DataFrame, int, list[BadLine]]:
    """One capture file: its rows, how many events they came from, and the refused lines.

    ``lines`` (numbers from 1) reads only those lines, for a reader that knows
    where its events are (the feedback step's index).
    """
    bad: list[BadLine] = []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return empty_frame(), 0, [BadLine(path, 0, "bad_encoding", f"not UTF-8: {error}", "")]
    events: list[CapturedEvent] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (lines is not None and number not in lines):
            continue
        try:
            events.append(parse_record(line))
        except CaptureLineError as error:
            bad.append(BadLine(path, number, error.reason, str(error), line))
    return events_frame(events), len(events), bad


def quarantine_lines(bad_lines: Iterable[BadLine], directory: Path) -> list[Path]:
    """Copy refused lines into directory, one file per source, with a reason file beside each.

    The capture files themselves stay where they are (the endpoint owns them);
    the copy keeps the source's name (with a suffix if taken) so the lines can be
    fixed and replayed. Written to temporary names first, then renamed.
    """
    from ml.io import write_atomic
    from ml.quarantine import free_name, reason_path

    by_file: dict[Path, list[BadLine]] = {}
    for bad in bad_lines:
        by_file.setdefault(bad.file, []).append(bad)
    written: list[Path] = []
    if not by_file:
        return written
    directory.mkdir(parents=True, exist_ok=True)
    for source, lines in by_file.items():
        dest = free_name(directory, source.name)
        reason = {
            "source": str(source),
            "quarantined_as": dest.name,
            "timestamp": datetime.now(UTC).isoformat(),
            "lines": [{k: v for k, v in b.describe().items() if k != "file"} for b in lines],
        }
        write_atomic(dest, "".join(b.text + "\n" for b in lines))
        write_atomic(reason_path(dest), json.dumps(reason, indent=2))
        written.append(dest)
    return written
