from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app

runner = CliRunner()
MLOPS = Path(sys.executable).parent / "mlops"


def _mlops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MLOPS), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_generate_writes_csv_and_parquet(tmp_path):
    for name in ("d.csv", "d.parquet"):
        result = runner.invoke(
            app, ["data", "generate", "--rows", "500", "--seed", "1", "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 0


def test_unknown_drift_is_one_line_and_exit_1(tmp_path):
    done = _mlops(
        "data", "generate", "--rows", "10", "--out", "x.csv", "--drift", "meteor", cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: unknown drift scenario 'meteor'")
    assert done.stderr.count("\n") == 1
    assert "amount_shift" in done.stderr and "Traceback" not in done.stderr


def test_validate_exits_1_and_quarantines(tmp_path):
    runner.invoke(app, ["data", "generate", "--rows", "300", "--out", str(tmp_path / "good.csv")])
    (tmp_path / "bad.csv").write_bytes(b"")
    done = _mlops(
        "data",
        "validate",
        "good.csv",
        "bad.csv",
        "--quarantine",
        "q",
        "--report",
        "r.json",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "quarantined" in done.stdout and "empty_file" in done.stdout
    assert (tmp_path / "good.csv").exists()
    assert (tmp_path / "q" / "bad.csv.reason.json").exists()
    assert json.loads((tmp_path / "r.json").read_text())["quarantined"] == 1
    ok = _mlops("data", "validate", "good.csv", "--quarantine", "q", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_validate_missing_path_is_one_line(tmp_path):
    done = _mlops("data", "validate", "nope.csv", "--quarantine", "q", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: nope.csv: no such file or directory; check the path"


def test_train_evaluate_drift_round_trip(tmp_path, data_dir, model_dir):
    trained = runner.invoke(
        app,
        [
            "train",
            "--train",
            str(data_dir / "train.parquet"),
            "--model-dir",
            str(tmp_path / "m"),
            "--max-iter",
            "20",
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "validation PR AUC" in trained.output
    evaluated = runner.invoke(
        app,
        [
            "evaluate", "--model-dir", str(model_dir), "--test", str(data_dir / "test.parquet"),
            "--out", str(tmp_path / "ev"), "--gates", "min_pr_auc=0,min_precision=0,min_recall=0",
        ],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    assert (tmp_path / "ev" / "evaluation.json").exists()
    drift = runner.invoke(
        app,
        [
            "drift",
            "--baseline",
            str(model_dir),
            "--current",
            str(data_dir / "test.parquet"),
            "--out",
            str(tmp_path / "d.json"),
        ],
    )
    assert drift.exit_code == 0, drift.output
    assert json.loads((tmp_path / "d.json").read_text())["summary"]["status"] == "ok"


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("alarm", 1)])
def test_drift_fail_on_sets_the_exit_code(tmp_path, model_dir, fail_on, code):
    runner.invoke(
        app,
        [
            "data",
            "generate",
            "--rows",
            "5000",
            "--drift",
            "amount_shift",
            "--out",
            str(tmp_path / "c.parquet"),
        ],
    )
    done = _mlops(
        "drift",
        "--baseline",
        str(model_dir),
        "--current",
        "c.parquet",
        "--fail-on",
        fail_on,
        cwd=tmp_path,
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert "status alarm" in done.stdout


def test_evaluate_failing_gates_exit_1(tmp_path, data_dir, model_dir):
    done = runner.invoke(
        app,
        [
            "evaluate", "--model-dir", str(model_dir), "--test", str(data_dir / "test.parquet"),
            "--out", str(tmp_path / "ev"), "--gates", "min_pr_auc=0.999",
        ],
    )  # fmt: skip
    assert done.exit_code == 1
    assert "fail" in done.output


def test_serve_help_shows_the_safe_default_host():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output


@pytest.mark.parametrize("flag", ["--workers", "--threads"])
def test_serve_refuses_a_non_positive_count_with_one_line(tmp_path, flag):
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "serve", "--model-dir", str(tmp_path), flag, "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: {flag} must be positive, got 0"]


def test_serve_help_names_the_workers_and_their_threads():
    result = runner.invoke(app, ["serve", "--help"])
    assert "--workers" in result.output and "--threads" in result.output


def _capture_dir(root, model_dir, frame, **options):
    from datetime import UTC, datetime

    from ml.capture_writer import simulate_traffic, write_capture
    from ml.inference import model_fn

    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    lines, labels = simulate_traffic(frame, model_fn(model_dir), start=start, **options)
    write_capture(lines, root)
    return labels


def test_drift_detects_a_capture_directory_and_says_what_it_read(tmp_path, model_dir):
    from ml.data import generate

    _capture_dir(tmp_path / "capture", model_dir, generate(2000, 51, "amount_shift"))
    with next((tmp_path / "capture").rglob("*.jsonl")).open("a") as handle:
        handle.write("{bad\n")
    done = _mlops(
        "drift", "--baseline", str(model_dir), "--current", "capture",
        "--quarantine", "q", "--fail-on", "alarm", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())  # rich wraps long lines
    assert "read 2000 events (2000 rows) from 1 capture files; 1 malformed lines" in text
    assert "not_json 1; quarantined in 1 files" in text
    assert "status alarm" in text


def test_quality_command_reports_and_gates_on_recall(tmp_path, model_dir):
    from ml.data import generate

    labels = _capture_dir(tmp_path / "capture", model_dir, generate(2000, 52), rows_per_request=4)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    args = ["quality", "--capture", "capture", "--labels", "labels.csv",
            "--model-dir", str(model_dir), "--out", "q.json", "--min-positives", "1"]  # fmt: skip
    done = _mlops(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "2000 labelled predictions; unmatched: 0 labels, 0 predictions" in text
    assert json.loads((tmp_path / "q.json").read_text())["rows"] == 2000
    gated = _mlops(*args, "--min-recall", "1.01", cwd=tmp_path)
    assert gated.returncode == 1


def test_quality_without_model_or_threshold_is_one_line(tmp_path):
    done = _mlops("quality", "--capture", "c", "--labels", "l.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: pass --model-dir (the serving model) or --threshold"


def test_quality_command_tests_for_a_drop_from_the_models_evaluation(tmp_path, model_dir, data_dir):
    from ml.data import generate
    from ml.evaluate import run_evaluation

    run_evaluation(model_dir, data_dir / "test.parquet", tmp_path / "ev")
    labels = _capture_dir(tmp_path / "capture", model_dir, generate(6000, 53))
    labels.to_csv(tmp_path / "labels.csv", index=False)
    done = _mlops(
        "quality", "--capture", "capture", "--labels", "labels.csv", "--model-dir",
        str(model_dir), "--out", "q.json", "--evaluation", str(tmp_path / "ev" / "evaluation.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "recall vs the evaluation: drop z" in text
    report = json.loads((tmp_path / "q.json").read_text())
    assert report["changes"]["recall"]["z"] < 3.09  # the same model on the same population
