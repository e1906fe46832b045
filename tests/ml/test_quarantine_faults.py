"""The quarantine under faults: crashes between its steps, and a disk that is full or read-only.

Nothing is lost, a later run finishes what a crash left, and a quarantine that
cannot take a file says so in one line, leaves no temporary file and still
reports every other file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ml.quarantine as q
from ml.data import generate
from ml.io import write_table
from ml.validate import validate_files

REPO = Path(__file__).resolve().parents[2]


class Crash(BaseException):
    """Stands in for the process being killed."""


def good_file(folder: Path, name: str = "good.csv", seed: int = 50) -> Path:
    path = folder / name
    write_table(generate(30, seed=seed), path)
    return path


def test_a_file_moved_before_its_reason_gets_it_at_the_next_runs_start(tmp_path, monkeypatch):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    source.write_bytes(b"")
    real = os.replace

    def crash_on_reason(src, dst, *args, **kwargs):
        if str(src).endswith(".reason.json.tmp"):
            raise Crash
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", crash_on_reason)
    with pytest.raises(Crash):
        validate_files([source], quarantine)
    monkeypatch.undo()
    assert not (quarantine / "bad.csv.reason.json").exists()

    # The next run brings only good data: the reason is written all the same.
    [report] = validate_files([good_file(tmp_path / "next")], quarantine)
    assert report.ok
    reason = json.loads((quarantine / "bad.csv.reason.json").read_text())
    assert reason["checks_failed"] == ["empty_file"]
    assert not list(quarantine.glob(".*"))


def test_a_quarantined_file_without_any_reason_gets_one_saying_so(tmp_path):
    quarantine = tmp_path / "q"
    quarantine.mkdir()
    (quarantine / "orphan.csv").write_bytes(b"evidence")
    validate_files([good_file(tmp_path)], quarantine)
    reason = json.loads((quarantine / "orphan.csv.reason.json").read_text())
    assert reason["checks_failed"] == ["unknown"]
    assert "without its reason" in reason["failures"][0]["message"]
    assert (quarantine / "orphan.csv").read_bytes() == b"evidence"


def test_a_copy_interrupted_before_the_source_delete_is_finished_not_a_traceback(tmp_path):
    raw, quarantine = tmp_path / "raw", tmp_path / "q"
    raw.mkdir()
    quarantine.mkdir()
    source = raw / "bad.csv"
    source.write_bytes(b"")  # empty: a bad file
    shutil.copy(source, quarantine / "bad.csv")  # copied, verified and renamed
    record = {"file": "bad.csv", "checks_failed": ["empty_file"], "source": str(source)}
    (quarantine / ".bad.csv.reason.json.tmp").write_text(json.dumps(record))
    good = good_file(raw)

    reports = validate_files([raw], quarantine)

    assert [r.path for r in reports] == [good] and reports[0].ok
    assert not source.exists()
    assert sorted(p.name for p in quarantine.iterdir()) == ["bad.csv", "bad.csv.reason.json"]


def _full_disk_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-filesystem moves whose copy runs out of space half-way."""
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith(".csv") and not str(src).endswith(".partial"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(src, dst, *args, **kwargs)

    def copy_then_fill(src, dst, length=0):
        dst.write(src.read(4))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(q.shutil, "copyfileobj", copy_then_fill)


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quarantine on a read-only filesystem: creating a file there fails."""

    def refuse(path, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(q, "_write_synced", refuse)


@pytest.mark.parametrize("fault", [_full_disk_midway, _read_only], ids=["full", "read-only"])
def test_a_quarantine_that_cannot_take_files_reports_every_file(tmp_path, monkeypatch, fault):
    raw, quarantine = tmp_path / "raw", tmp_path / "q"
    raw.mkdir()
    (raw / "a-bad.csv").write_bytes(b"")
    good_file(raw, "b-good.csv")
    (raw / "c-bad.csv").write_bytes(b"x,y\n1")
    fault(monkeypatch)

    reports = {r.path.name: r for r in validate_files([raw], quarantine)}

    assert reports["b-good.csv"].ok
    for name in ("a-bad.csv", "c-bad.csv"):
        assert reports[name].status == "kept" and "cannot quarantine" in reports[name].problem
        assert (raw / name).exists()  # still in place: nothing lost
    assert not [p.name for p in quarantine.glob(".*")]  # no .partial, no .tmp


def test_validate_with_a_full_quarantine_is_one_line_and_writes_its_report(tmp_path):
    # A quarantine path that cannot be a directory stands in for a full or read-only disk.
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.csv").write_bytes(b"")
    good_file(raw)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the quarantine directory should be")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "ops.cli", "data", "validate", str(raw)]
    done = subprocess.run(
        [*command, "--quarantine", str(blocked / "q"), "--report", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot quarantine bad.csv"), done.stderr
    assert "Traceback" not in done.stderr
    written = json.loads(report.read_text())
    assert (written["passed"], written["kept"]) == (1, 1)
    assert (raw / "bad.csv").exists()
