"""Crash-safe quarantine: a bad file ends up either in place or fully quarantined.

Order of operations: write the reason to a temporary name, move the data file
with ``os.replace`` (atomic on one filesystem), then rename the reason to its
final name. Across filesystems, and for a symbolic link (whose bytes, not the
link, are the evidence), the data is copied to a partial name, fsynced,
verified by sha256, renamed, and only then is the source (the link) unlinked.
Nothing is overwritten: a name already taken in the quarantine gets a numeric
suffix. ``recover`` finishes or rolls back what a crash interrupted, and gives
a data file that lost its reason a reason saying so. A quarantine that cannot
be written (read-only, full) is a ``QuarantineError`` naming the file and the
cause, with no temporary file left behind and the source where it was.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.io import sha256_file

REASON_SUFFIX = ".reason.json"


class QuarantineError(MlopsError):
    """The quarantine could not take a file (read-only, full); the file stays in place.

    ``copied_to`` is set when the verified copy is in the quarantine and only
    removing the source failed.
    """

    def __init__(self, message: str, copied_to: Path | None = None) -> None:
        super().__init__(message)
        self.copied_to = copied_to


def reason_path(data_path: Path) -> Path:
    """Where the reason file of a quarantined data file lives."""
    return data_path.with_name(data_path.name + REASON_SUFFIX)


def _tmp_reason(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{REASON_SUFFIX}.tmp")


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


def free_name(directory: Path, name: str) -> Path:
    """A path in directory for name that no quarantined file or reason uses yet.

    A hidden file is kept under its name without the leading dots: the quarantine's
    own temporary files are the hidden ones, and recovery removes those.
    """
    name = name.lstrip(".") or "hidden"
    stem, dot, suffix = name.partition(".")
    candidate, n = directory / name, 0
    while any(p.exists() for p in (candidate, reason_path(candidate), _tmp_reason(candidate))):
        n += 1
        candidate = directory / f"{stem}-{n}{dot}{suffix}"
    return candidate


def quarantine_file(source: Path, directory: Path, reason: dict[str, Any]) -> Path:
    """Move source (a link: its bytes) into directory with its reason beside it; the new path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        recover(directory)
        dest = free_name(directory, source.name)
    except OSError as error:
        raise _cannot(source, directory, error) from None
    record = {**reason, "quarantined_as": dest.name, "source": str(source)}
    if source.is_symlink():
        record["link_target"] = str(source.resolve())
    tmp = _tmp_reason(dest)
    try:
        _write_synced(tmp, json.dumps(record, indent=2, default=str).encode())
        _move(source, dest)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        _partial(dest).unlink(missing_ok=True)
        raise _cannot(source, directory, error) from None
    except _SourceKeptError as kept:
        tmp.replace(reason_path(dest))
        raise QuarantineError(
            f"{source.name} was copied into {directory} as {dest.name} but the source could "
            f"not be removed ({kept.__cause__}); remove {source} by hand",
            copied_to=dest,
        ) from None
    tmp.replace(reason_path(dest))
    _sync_dir(directory)
    return dest


class _SourceKeptError(Exception):
    """The verified copy is in the quarantine; only removing the source failed."""


def _move(source: Path, dest: Path) -> None:
    if source.is_symlink():
        _copy_across(source, dest)  # the bytes are the evidence: a moved link could dangle
        return
    try:
        source.replace(dest)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        _copy_across(source, dest)


def _cannot(source: Path, directory: Path, error: OSError) -> QuarantineError:
    cause = error.strerror or str(error)
    return QuarantineError(
        f"cannot quarantine {source.name} into {directory}: {cause}; it stays where it is "
        "(free space or pass a writable --quarantine)"
    )


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
    try:
        source.unlink()
    except OSError as error:
        raise _SourceKeptError() from error


def recover(directory: Path) -> list[Path]:
    """Finish quarantines a crash interrupted; return the data files it completed.

    A temporary reason whose data file arrived is finalised (and an identical
    leftover source from a copy is removed); one whose data never moved is
    dropped, as are partial copies: their source is still in place. A data file
    without any reason gets one that says the checks it failed are unknown.
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
        record = _read_record(tmp)
        source = Path(record.get("source", ""))
        same_bytes = source.is_file() and sha256_file(source) == sha256_file(dest)
        if same_bytes and source.absolute() != dest.absolute():
            source.unlink()
        tmp.replace(reason_path(dest))
        completed.append(dest)
    for orphan in _without_reason(directory):
        _write_synced(reason_path(orphan), json.dumps(_lost_reason(orphan), indent=2).encode())
        completed.append(orphan)
    if completed:
        _sync_dir(directory)
    return completed


def _read_record(tmp: Path) -> dict[str, Any]:
    try:
        record = json.loads(tmp.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def _without_reason(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and not path.name.endswith(REASON_SUFFIX)
        and not reason_path(path).exists()
    )


def _lost_reason(path: Path) -> dict[str, Any]:
    return {
        "file": path.name,
        "checks_failed": ["unknown"],
        "failures": [
            {
                "check": "unknown",
                "message": "found in the quarantine without its reason (the run that moved "
                "it stopped before writing it); validate the file again to learn why",
                "examples": [],
            }
        ],
        "sha256": sha256_file(path),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "quarantined_as": path.name,
    }


def copy_quarantine(source: Path, target: Path) -> list[Path]:
    """Copy each quarantined file of ``source``, with its reason, into ``target``; the copies.

    A file of the same name already in ``target`` (an earlier run's) stays: the copy
    takes a free name (``bad-1.csv``) and its reason records it as ``quarantined_as``.
    """
    copied: list[Path] = []
    for data in sorted(source.glob("*")):
        if not data.is_file() or data.name.startswith(".") or data.name.endswith(REASON_SUFFIX):
            continue
        target.mkdir(parents=True, exist_ok=True)
        dest = free_name(target, data.name)
        reason = reason_path(data)
        record = _read_record(reason) if reason.is_file() else _lost_reason(data)
        record["quarantined_as"] = dest.name
        tmp = _tmp_reason(dest)
        _write_synced(tmp, json.dumps(record, indent=2, default=str).encode())
        shutil.copy2(data, dest)
        tmp.replace(reason_path(dest))
        copied.append(dest)
    return copied


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
