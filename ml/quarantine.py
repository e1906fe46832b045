"""Crash-safe quarantine: a bad file ends up either in place or fully quarantined.

Order of operations: write the reason to a temporary name, move the data file
with ``os.replace`` (atomic on one filesystem), then rename the reason to its
final name. Across filesystems the data is copied to a partial name, fsynced,
verified by sha256, renamed, and only then unlinked at the source. Nothing is
overwritten: a name already taken in the quarantine gets a numeric suffix.
``recover`` finishes or rolls back what a crash interrupted.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ml.io import sha256_file

REASON_SUFFIX = ".reason.json"


def reason_path(data_path: Path) -> Path:
    """Where the reason file of a quarantined data file lives."""
    return data_path.with_name(data_path.name + REASON_SUFFIX)


def _tmp_reason(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{REASON_SUFFIX}.tmp")


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


def free_name(directory: Path, name: str) -> Path:
    """A path in directory for name that no quarantined file or reason uses yet."""
    stem, dot, suffix = name.partition(".")
    candidate, n = directory / name, 0
    while any(p.exists() for p in (candidate, reason_path(candidate), _tmp_reason(candidate))):
        n += 1
        candidate = directory / f"{stem}-{n}{dot}{suffix}"
    return candidate


def quarantine_file(source: Path, directory: Path, reason: dict[str, Any]) -> Path:
    """Move source into directory with its reason file beside it; return the new path."""
    directory.mkdir(parents=True, exist_ok=True)
    recover(directory)
    dest = free_name(directory, source.name)
    record = {**reason, "quarantined_as": dest.name, "source": str(source)}
    tmp = _tmp_reason(dest)
    _write_synced(tmp, json.dumps(record, indent=2, default=str).encode())
    try:
        source.replace(dest)
    except OSError as error:
        if error.errno != errno.EXDEV:
            tmp.unlink(missing_ok=True)
            raise
        _copy_across(source, dest)
    tmp.replace(reason_path(dest))
    _sync_dir(directory)
    return dest


def _copy_across(source: Path, dest: Path) -> None:
    """Copy, fsync and verify before unlinking the source: never lose the only copy."""
    partial = _partial(dest)
    with source.open("rb") as src, partial.open("xb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    if sha256_file(partial) != sha256_file(source):
        partial.unlink()
        raise OSError(errno.EIO, f"copy of {source} to {dest} did not verify; source kept")
    partial.replace(dest)
    _sync_dir(dest.parent)
    source.unlink()


def recover(directory: Path) -> list[Path]:
    """Finish quarantines a crash interrupted; return the data files it completed.

    A temporary reason whose data file arrived is finalised (and an identical
    leftover source from a cross-filesystem move is removed); one whose data
    never moved is dropped, as are partial copies: their source is still in place.
    """
    completed: list[Path] = []
    if not directory.is_dir():
        return completed
    for partial in directory.glob(".*.partial"):
        partial.unlink()
    for tmp in directory.glob(f".*{REASON_SUFFIX}.tmp"):
        dest = directory / tmp.name[1 : -len(REASON_SUFFIX + ".tmp")]
        if not dest.exists():
            tmp.unlink()
            continue
        record = json.loads(tmp.read_text())
        source = Path(record.get("source", ""))
        same_bytes = source.is_file() and sha256_file(source) == sha256_file(dest)
        if same_bytes and source.resolve() != dest.resolve():
            source.unlink()
        tmp.replace(reason_path(dest))
        completed.append(dest)
    if completed:
        _sync_dir(directory)
    return completed


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
