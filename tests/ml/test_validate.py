from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from ml import quarantine as q
from ml.data import generate
from ml.io import write_table
from ml.validate import ValidationInputError, main, validate_files


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate(400, seed=5)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _parquet(frame: pd.DataFrame, tmp: Path) -> bytes:
    path = tmp / "x.parquet"
    write_table(frame, path)
    data = path.read_bytes()
    path.unlink()
    return data


def _with(frame: pd.DataFrame, column: str, value: object, row: int = 3) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


def corrupted_files(small: pd.DataFrame, tmp: Path) -> dict[str, tuple[bytes, str]]:
    """File name -> (content, the check that must fail)."""
    good_csv = _csv(small)
    dup = small.copy()
    dup.loc[5, "transaction_id"] = dup.loc[6, "transaction_id"]
    ragged = good_csv.split(b"\n")
    ragged[10] = ragged[10] + b",1,2,3"
    return {
        "empty.csv": (b"", "empty_file"),
        "truncated.csv": (good_csv[: len(good_csv) // 2 + 7], "truncated"),
        "truncated.parquet": (_parquet(small, tmp)[:-300], "truncated"),
        "image.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not_csv"),
        "notes.txt": (b"hello\n", "unsupported_format"),
        "csv_named.parquet": (good_csv, "not_parquet"),
        "latin1.csv": (good_csv.replace(b"grocery", "épicerie".encode("latin-1")), "bad_encoding"),
        "missing.csv": (_csv(small.drop(columns=["amount"])), "missing_columns"),
        "extra.csv": (_csv(small.assign(comment="x")), "unexpected_columns"),
        "text_amount.csv": (_csv(_with(small, "amount", "twelve")), "wrong_type"),
        "null_amount.parquet": (
            _parquet(_with(small, "amount", None).astype({"amount": float}), tmp),
            "null_values",
        ),
        "hour_25.csv": (_csv(_with(small, "hour", 25)), "out_of_range"),
        "negative.csv": (_csv(_with(small, "amount", -5.0)), "out_of_range"),
        "channel.csv": (_csv(_with(small, "channel", "telepathy")), "unknown_category"),
        "country_null.csv": (_csv(_with(small, "country", None)), "null_values"),
        "duplicate_ids.csv": (_csv(dup), "duplicate_ids"),
        "header_only.csv": (_csv(small.iloc[:0]), "no_rows"),
        "bad_time.csv": (_csv(_with(small, "event_time", "yesterday")), "wrong_type"),
        "ragged.csv": (b"\n".join(ragged), "malformed_csv"),
        "label_3.csv": (_csv(_with(small, "is_fraud", 3)), "unknown_category"),
    }


@pytest.fixture
def landing(tmp_path: Path, small: pd.DataFrame) -> tuple[Path, dict[str, tuple[bytes, str]]]:
    raw = tmp_path / "raw"
    raw.mkdir()
    bad = corrupted_files(small, tmp_path)
    for name, (content, _) in bad.items():
        (raw / name).write_bytes(content)
    # Each good file holds transactions of its own: one id in two files is a duplicate.
    write_table(small, raw / "good.csv")
    write_table(generate(400, seed=6), raw / "good.parquet")
    write_table(
        _with(generate(400, seed=7), "merchant_category", "crypto_exchange"),
        raw / "new_category.csv",
    )
    return raw, bad


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_each_corrupted_file_is_quarantined_with_its_reason(landing, tmp_path):
    raw, bad = landing
    assert len(bad) >= 10
    good = {
        name: _fingerprint(raw / name) for name in ("good.csv", "good.parquet", "new_category.csv")
    }
    before = {name: hashlib.sha256(content).hexdigest() for name, (content, _) in bad.items()}
    quarantine = tmp_path / "quarantine"

    reports = validate_files([raw], quarantine)

    verdicts = {r.path.name: r for r in reports}
    for name, (_, check) in bad.items():
        report = verdicts[name]
        assert not report.ok, name
        assert check in report.checks_failed, (name, report.failures)
        assert not (raw / name).exists()
        moved = quarantine / name
        assert hashlib.sha256(moved.read_bytes()).hexdigest() == before[name]
        reason = json.loads((quarantine / f"{name}.reason.json").read_text())
        assert reason["file"] == name
        assert check in reason["checks_failed"]
        assert reason["timestamp"] and reason["failures"][0]["message"]
    for name, fingerprint in good.items():
        assert verdicts[name].ok, verdicts[name].failures
        assert _fingerprint(raw / name) == fingerprint  # byte-identical, same mtime
    assert not list(quarantine.glob(".*"))  # no temporary files left behind


def test_unseen_merchant_category_passes_with_a_drift_warning(landing, tmp_path):
    raw, _ = landing
    reports = validate_files([raw / "new_category.csv"], tmp_path / "q")
    assert reports[0].ok
    assert "crypto_exchange" in reports[0].warnings[0]


def test_examples_name_the_bad_values(landing, tmp_path):
    raw, _ = landing
    [report] = validate_files([raw / "channel.csv"], tmp_path / "q")
    assert report.failures[0].examples == ["telepathy"]
    assert "channel" in report.failures[0].message


def test_existing_quarantined_file_is_never_overwritten(tmp_path):
    quarantine = tmp_path / "q"
    quarantine.mkdir()
    (quarantine / "bad.csv").write_bytes(b"older evidence")
    (tmp_path / "bad.csv").write_bytes(b"")
    [report] = validate_files([tmp_path / "bad.csv"], quarantine)
    assert report.quarantined_to == quarantine / "bad-1.csv"
    assert (quarantine / "bad.csv").read_bytes() == b"older evidence"
    assert (quarantine / "bad-1.csv.reason.json").exists()


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(ValidationInputError, match="no such file"):
        validate_files([tmp_path / "absent.csv"], tmp_path / "q")


class Crash(BaseException):
    """Stands in for the process being killed."""


def _crash_when(monkeypatch, predicate) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if predicate(str(src)):
            raise Crash
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_crash_before_the_move_leaves_the_file_in_place(tmp_path, monkeypatch):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    source.write_bytes(b"a,b\n1,2\n")
    _crash_when(monkeypatch, lambda src: src == str(source))
    with pytest.raises(Crash):
        validate_files([source], quarantine)
    assert source.read_bytes() == b"a,b\n1,2\n"
    assert not (quarantine / "bad.csv").exists()
    assert not (quarantine / "bad.csv.reason.json").exists()

    monkeypatch.undo()
    [report] = validate_files([source], quarantine)  # the rerun recovers and completes
    assert report.quarantined_to == quarantine / "bad.csv"
    assert sorted(p.name for p in quarantine.iterdir()) == ["bad.csv", "bad.csv.reason.json"]


def test_crash_after_the_move_is_finished_by_recovery(tmp_path, monkeypatch):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    source.write_bytes(b"")
    _crash_when(monkeypatch, lambda src: src.endswith(".reason.json.tmp"))
    with pytest.raises(Crash):
        validate_files([source], quarantine)
    assert not source.exists()
    assert (quarantine / "bad.csv").exists()  # the data is fully in quarantine

    monkeypatch.undo()
    assert q.recover(quarantine) == [quarantine / "bad.csv"]
    reason = json.loads((quarantine / "bad.csv.reason.json").read_text())
    assert reason["checks_failed"] == ["empty_file"]
    assert not list(quarantine.glob(".*"))


def test_cross_filesystem_move_copies_verifies_then_unlinks(tmp_path, monkeypatch):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    source.write_bytes(b"x,y\n" * 1000)
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(src) == str(source):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    [report] = validate_files([source], quarantine)
    assert not source.exists()
    assert (quarantine / "bad.csv").read_bytes() == b"x,y\n" * 1000
    assert report.quarantined_to == quarantine / "bad.csv"
    assert not list(quarantine.glob(".*"))


def test_interrupted_cross_filesystem_move_keeps_one_verified_copy(tmp_path):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    quarantine.mkdir()
    source.write_bytes(b"payload")
    (quarantine / "bad.csv").write_bytes(b"payload")  # copied and renamed, source not yet unlinked
    (quarantine / ".bad.csv.reason.json.tmp").write_text(json.dumps({"source": str(source)}))
    (quarantine / ".other.csv.partial").write_bytes(b"half")  # an unfinished copy
    q.recover(quarantine)
    assert not source.exists()
    assert (quarantine / "bad.csv").read_bytes() == b"payload"
    assert (quarantine / "bad.csv.reason.json").exists()
    assert not (quarantine / ".other.csv.partial").exists()


def test_recovery_keeps_a_source_whose_copy_differs(tmp_path):
    source, quarantine = tmp_path / "bad.csv", tmp_path / "q"
    quarantine.mkdir()
    source.write_bytes(b"new")
    (quarantine / "bad.csv").write_bytes(b"old")
    (quarantine / ".bad.csv.reason.json.tmp").write_text(json.dumps({"source": str(source)}))
    q.recover(quarantine)
    assert source.read_bytes() == b"new"


def test_processing_entry_point_copies_good_and_quarantines_bad(tmp_path, small):
    raw = tmp_path / "input"
    write_table(small, raw / "good.csv")
    (raw / "bad.csv").write_bytes(b"")
    out = tmp_path / "output"
    code = main(
        [
            "--input", str(raw),
            "--validated", str(out / "validated"),
            "--quarantine", str(out / "quarantine"),
            "--report", str(out / "report.json"),
        ]
    )  # fmt: skip
    assert code == 0
    assert (raw / "good.csv").exists()
    assert (out / "validated" / "good.csv").read_bytes() == (raw / "good.csv").read_bytes()
    assert (out / "quarantine" / "bad.csv.reason.json").exists()
    report = json.loads((out / "report.json").read_text())
    assert (report["passed"], report["quarantined"]) == (1, 1)


def test_processing_entry_point_fails_when_nothing_is_usable(tmp_path):
    raw = tmp_path / "input"
    raw.mkdir()
    (raw / "bad.csv").write_bytes(b"")
    args = ["--input", str(raw), "--validated", str(tmp_path / "v")]
    args += ["--quarantine", str(tmp_path / "q"), "--report", str(tmp_path / "r.json")]
    assert main(args) == 1


def test_good_files_of_the_same_name_in_different_drops_are_all_kept(tmp_path, small):
    raw = tmp_path / "input"
    write_table(small.iloc[:100], raw / "2026-12-01" / "transactions.csv")
    write_table(small.iloc[100:250], raw / "2026-12-02" / "transactions.csv")
    out = tmp_path / "output"
    args = ["--input", str(raw), "--validated", str(out / "validated")]
    args += ["--quarantine", str(out / "q"), "--report", str(out / "r.json")]
    assert main(args) == 0
    kept = sorted(
        p.relative_to(out / "validated").as_posix() for p in (out / "validated").rglob("*.csv")
    )
    assert kept == ["2026-12-01/transactions.csv", "2026-12-02/transactions.csv"]
    for name in kept:
        assert (out / "validated" / name).read_bytes() == (raw / name).read_bytes()
