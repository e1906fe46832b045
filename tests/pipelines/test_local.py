"""The local runner end to end: a generated data set to a registered model, cache, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.local import LocalRun, run_local
from pipelines.local_steps import StepFailedError

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("run-local")


@pytest.fixture(scope="module")
def first_run(work_dir) -> LocalRun:
    return run_local("dev", work_dir=work_dir)


def evaluation_of(work_dir: Path, run: LocalRun) -> dict:
    path = (
        work_dir
        / "runs"
        / run.execution_id
        / "Evaluate"
        / "opt/ml/processing/output"
        / "evaluation"
        / "evaluation.json"
    )
    return json.loads(path.read_text(encoding="utf-8"))


def test_dev_run_ends_with_an_approved_package_whose_metrics_match(work_dir, first_run) -> None:
    assert first_run.package_arn is not None
    assert first_run.package_arn.endswith(":model-package/mlops-dev-fraud-models/1")
    assert first_run.approval_status == "Approved"
    metrics = evaluation_of(work_dir, first_run)["binary_classification_metrics"]
    assert first_run.metrics["PrAuc"] == pytest.approx(metrics["pr_auc"]["value"])
    assert first_run.metrics["RecallAtPrecision90"] == pytest.approx(
        metrics["recall_at_precision_90"]["value"]
    )
    assert len(first_run.metadata["DataSha256"]) == 64
    assert [o.name for o in first_run.outcomes] == [
        "Validate",
        "Features",
        "Train",
        "Evaluate",
        "CheckGates",
        "Register",
    ]


def test_the_emulator_the_run_started_is_stopped_after_it(first_run) -> None:
    assert first_run.emulator_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(first_run.emulator_pid, 0)


def test_a_second_run_on_the_same_input_reuses_every_job_step(work_dir, first_run) -> None:
    second = run_local("dev", work_dir=work_dir)
    statuses = {o.name: o.status for o in second.outcomes}
    assert [statuses[s] for s in ("Validate", "Features", "Train", "Evaluate")] == ["cached"] * 4
    assert second.package_arn is not None and second.metrics == first_run.metrics


def test_a_challenger_below_the_gates_is_not_registered(work_dir, first_run, tmp_path) -> None:
    strict = tmp_path / "Pulumi.dev.yaml"
    strict.write_text(
        "config:\n  mlops:environment: dev\n  mlops:pipeline:\n    gates:\n      minPrAuc: 0.99\n",
        encoding="utf-8",
    )
    with pytest.raises(
        StepFailedError,
        match=r"GateFailed: challenger not registered: pr_auc "
        r"0\.\d+ \(floor 0\.99",
    ):
        run_local("dev", work_dir=work_dir, config_file=strict)


def test_corrupted_input_stops_at_validation_and_quarantines_it(tmp_path) -> None:
    data = tmp_path / "in" / "broken.csv"
    data.parent.mkdir()
    data.write_text("transaction_id,amount\n1,lots\n", encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "pipeline",
            "run-local",
            "--stack",
            "dev",
            "--input",
            str(data),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert errors[0].startswith("error: pipeline stopped at Validate: 1 input file(s) failed")
    assert "no model registered" in errors[0]
    assert "registered arn:" not in done.stdout
    quarantine = tmp_path / "work" / "quarantine"
    assert (quarantine / "broken.csv").read_bytes() == data.read_bytes()
    assert json.loads((quarantine / "broken.csv.reason.json").read_text())["checks_failed"]
