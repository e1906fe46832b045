"""Validate checks what Features assumes, across the files of a drop, whatever the drop holds.

A drop that passes Validate must go through Features; records that landed twice
are quarantined naming the file that holds them first; hidden files, links,
files that vanish and paths given twice are all reported, and the report is
always written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import ml.validate as validate_module
from ml.data import generate
from ml.io import write_table
from ml.validate import main, validate_files
from pipelines.jobs.features import run_features


def _drop_file(tmp: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp / "raw" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def _validate_then_features(tmp: Path) -> tuple[dict, dict]:
    out = tmp / "out"
    args = ["--input", str(tmp / "raw"), "--validated", str(out / "validated")]
    args += ["--quarantine", str(out / "quarantine"), "--report", str(out / "report.json")]
    main(args)
    report = json.loads((out / "report.json").read_text())
    verdicts = {Path(r["file"]).name: r for r in report["reports"]}
    features = run_features(out / "validated", out / "features", None)
    return verdicts, features


def test_event_time_as_text_in_parquet_passes_validate_and_goes_through_features(tmp_path):
    frame = generate(300, seed=11)
    text = frame.assign(event_time=frame["event_time"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    _drop_file(tmp_path, "text_times.parquet", text)
    _drop_file(tmp_path, "real_times.csv", generate(300, seed=12))
    verdicts, features = _validate_then_features(tmp_path)
    assert verdicts["text_times.parquet"]["ok"] and verdicts["real_times.csv"]["ok"]
    assert features["rows"] == 600
    train = pd.read_parquet(tmp_path / "out" / "features" / "train" / "train.parquet")
    assert str(train["event_time"].dtype).startswith("datetime64") and train["event_time"].dt.tz


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_timestamps_without_a_zone_are_quarantined_as_wrong_type(tmp_path, suffix):
    frame = generate(200, seed=13)
    naive = frame.assign(event_time=frame["event_time"].dt.tz_localize(None))
    path = _drop_file(tmp_path, f"naive.{suffix}", naive)
    [report] = validate_files([path], tmp_path / "q")
    assert not report.ok and report.checks_failed == ["wrong_type"]
    assert "200 timestamp(s) without a time zone" in report.failures[0].message
    assert (tmp_path / "q" / f"naive.{suffix}").exists()


def _odd_drop(tmp: Path) -> None:
    """Files a user might land: odd types that convert, and odd ones that must not."""
    f = {seed: generate(150, seed=seed) for seed in range(20, 30)}
    _drop_file(tmp, "numbers_as_text.parquet", f[20].astype({"amount": str, "hour": str}))
    _drop_file(tmp, "bool_device.parquet", f[21].astype({"is_new_device": bool}))
    _drop_file(tmp, "categorical.parquet", f[22].astype({"channel": "category"}))
    _drop_file(tmp, "float_ids.parquet", f[23].astype({"transaction_id": float}))
    offsets = f[24]["event_time"].dt.tz_convert("Asia/Tokyo").dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    _drop_file(tmp, "other_offsets.csv", f[24].assign(event_time=offsets))
    _drop_file(
        tmp, "epoch_times.parquet", f[25].assign(event_time=f[25]["event_time"].astype("int64"))
    )
    _drop_file(tmp, "half_ids.parquet", f[26].assign(transaction_id=f[26]["transaction_id"] + 0.5))
    _drop_file(tmp, "country_codes.parquet", f[27].assign(country=7))
    _drop_file(tmp, "naive_text.parquet", f[28].assign(event_time="2026-01-01T00:00:00"))
    _drop_file(tmp, "good.csv", f[29])


def test_a_drop_that_passes_validate_never_fails_in_features(tmp_path):
    _odd_drop(tmp_path)
    verdicts, features = _validate_then_features(tmp_path)
    passed = sorted(name for name, r in verdicts.items() if r["ok"])
    assert passed == [
        "bool_device.parquet",
        "categorical.parquet",
        "float_ids.parquet",
        "good.csv",
        "numbers_as_text.parquet",
        "other_offsets.csv",
    ]
    for name in ("epoch_times.parquet", "half_ids.parquet", "country_codes.parquet"):
        assert verdicts[name]["checks_failed"] == ["wrong_type"], verdicts[name]
    assert features["rows"] == 150 * len(passed)


def test_the_same_drop_landed_twice_is_quarantined_naming_the_first(tmp_path):
    first = _drop_file(tmp_path, "2026-01-01/transactions.csv", generate(100, seed=40))
    shutil.copy(first, tmp_path / "raw" / "2026-01-02-transactions.csv")
    reports = validate_files([tmp_path / "raw"], tmp_path / "q")
    verdicts = {r.path.name: r for r in reports}
    assert verdicts["transactions.csv"].ok
    again = verdicts["2026-01-02-transactions.csv"]
    assert again.checks_failed == ["duplicate_across_files"]
    assert "the same bytes as" in again.failures[0].message
    assert str(first) in again.failures[0].message
    assert (tmp_path / "q" / "2026-01-02-transactions.csv").exists()


def test_files_sharing_transaction_ids_are_caught(tmp_path):
    frame = generate(100, seed=41)
    _drop_file(tmp_path, "a.csv", frame)
    _drop_file(tmp_path, "b.parquet", pd.concat([frame.iloc[:10], generate(50, seed=42)]))
    _drop_file(tmp_path, "c.csv", generate(80, seed=43))
    verdicts, features = _validate_then_features(tmp_path)
    assert verdicts["a.csv"]["ok"] and verdicts["c.csv"]["ok"]
    assert verdicts["b.parquet"]["checks_failed"] == ["duplicate_across_files"]
    assert "10 transaction id(s) also in" in verdicts["b.parquet"]["failures"][0]["message"]
    assert features["rows"] == 180  # no transaction counted twice, none of a and c lost


def test_a_hidden_bad_file_is_quarantined_and_a_hidden_good_one_reported(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / ".partial-upload.csv").write_bytes(b"transaction_id,event_time\n1,")
    write_table(generate(50, seed=44), raw / ".late.csv")
    reports = {r.path.name: r for r in validate_files([raw], tmp_path / "q")}
    assert reports[".partial-upload.csv"].status == "quarantined"
    assert (tmp_path / "q" / "partial-upload.csv").exists()  # kept under a visible name
    assert reports[".late.csv"].ok
    assert "hidden file" in reports[".late.csv"].warnings[0]


def test_a_symlinked_bad_file_quarantines_its_bytes_not_the_link(tmp_path):
    elsewhere = tmp_path / "shared" / "broken.csv"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "broken.csv").symlink_to(elsewhere)
    [report] = validate_files([raw], tmp_path / "q")
    kept = tmp_path / "q" / "broken.csv"
    assert report.status == "quarantined"
    assert kept.is_file() and not kept.is_symlink() and kept.read_bytes() == b""
    assert not (raw / "broken.csv").exists() and not (raw / "broken.csv").is_symlink()
    assert elsewhere.exists()  # the target is not the drop's to move
    reason = json.loads((tmp_path / "q" / "broken.csv.reason.json").read_text())
    assert reason["link_target"] == str(elsewhere.resolve())


def test_a_broken_link_is_reported_not_a_traceback(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    write_table(generate(20, seed=45), raw / "good.csv")
    reports = {r.path.name: r for r in validate_files([raw], tmp_path / "q")}
    assert reports["gone.csv"].checks_failed == ["broken_link"]
    assert reports["gone.csv"].status == "kept"
    assert reports["good.csv"].ok


def test_a_path_given_twice_is_validated_once(tmp_path):
    path = (
        write_table(generate(20, seed=46), tmp_path / "raw" / "a.csv") or tmp_path / "raw" / "a.csv"
    )
    reports = validate_files([path, path, tmp_path / "raw"], tmp_path / "q")
    assert [r.path.name for r in reports] == ["a.csv"] and reports[0].ok


def test_a_file_that_vanishes_mid_run_is_reported_and_the_rest_validated(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    for name in ("a.csv", "b.csv", "c.csv"):
        write_table(generate(20, seed=ord(name[0])), raw / name)
    real = validate_module.check_file

    def check_and_lose_b(path, require_label=True):
        if path.name == "a.csv":
            (raw / "b.csv").unlink()  # another process took it while a.csv was read
        return real(path, require_label=require_label)

    monkeypatch.setattr(validate_module, "check_file", check_and_lose_b)
    out = tmp_path / "out"
    args = ["--input", str(raw), "--validated", str(out / "v"), "--quarantine", str(out / "q")]
    assert main([*args, "--report", str(out / "report.json")]) == 0
    report = json.loads((out / "report.json").read_text())
    statuses = {Path(r["file"]).name: (r["status"], r["checks_failed"]) for r in report["reports"]}
    assert statuses == {
        "a.csv": ("passed", []),
        "b.csv": ("kept", ["vanished"]),
        "c.csv": ("passed", []),
    }
