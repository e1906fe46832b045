"""The local runner end to end: dataset versions, the cache, the champion gate, bad input.

The runs share one moto_server (so the registry outlives each run, as in AWS)
and one work directory (so the step cache does), and start as the schedule
starts the pipeline: with the definition's default parameters only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from ml.data import generate
from ml.io import write_table
from ops.local.emulator import moto_server
from ops.local.job_runner import StepFailedError
from ops.local.pipeline_runner import LocalRun, run_local

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
DATA_BUCKET = "mlops-dev-data-123456789012-us-east-1"
JOBS = ("Validate", "Features", "Train", "Evaluate")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("run-local")


@pytest.fixture(scope="module")
def first_run(work_dir, endpoint) -> LocalRun:
    return run_local("dev", work_dir=work_dir, endpoint_url=endpoint)


@pytest.fixture(scope="module")
def second_run(work_dir, endpoint, first_run) -> LocalRun:
    return run_local("dev", work_dir=work_dir, endpoint_url=endpoint)


def statuses(run: LocalRun) -> dict[str, str]:
    return {o.name: o.status for o in run.outcomes}


def step_output(work_dir: Path, run: LocalRun, step: str, name: str) -> Path:
    return work_dir / "runs" / run.execution_id / step / "opt/ml/processing/output" / name


def dataset_of(work_dir: Path, run: LocalRun) -> dict:
    path = step_output(work_dir, run, "Dataset", "dataset") / "dataset.json"
    return json.loads(path.read_text(encoding="utf-8"))


def loosen_regression(tmp_path: Path) -> Path:
    """A dev stack file whose margins admit any challenger, so only the fixed gates decide."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        "config:\n  mlops:environment: dev\n  mlops:pipeline:\n    gates:\n"
        "      margins: {prAuc: 1, recall: 1, precision: 1}\n",
        encoding="utf-8",
    )
    return path


def test_dev_run_ends_with_an_approved_package_whose_metrics_match(work_dir, first_run) -> None:
    assert first_run.package_arn is not None
    assert first_run.package_arn.endswith(":model-package/mlops-dev-fraud-models/1")
    assert first_run.approval_status == "Approved"
    path = step_output(work_dir, first_run, "Evaluate", "evaluation") / "evaluation.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))["binary_classification_metrics"]
    assert first_run.metrics["PrAuc"] == pytest.approx(metrics["pr_auc"]["value"])
    assert first_run.metrics["RecallAtPrecision90"] == pytest.approx(
        metrics["recall_at_precision_90"]["value"]
    )
    assert len(first_run.metadata["DataSha256"]) == 64
    assert [o.name for o in first_run.outcomes] == [
        "Dataset",
        "Validate",
        "Features",
        "Train",
        "Evaluate",
        "Champion",
        "CheckNewModel",
        "CheckGates",
        "Register",
    ]


def test_the_registered_package_names_its_dataset_version(work_dir, first_run) -> None:
    dataset = dataset_of(work_dir, first_run)
    assert first_run.metadata["DatasetVersion"] == dataset["version"]
    assert first_run.metadata["DatasetManifestUri"] == (
        f"s3://{DATA_BUCKET}/datasets/{dataset['version']}/manifest.json"
    )


def test_a_second_run_on_the_same_version_reuses_every_job_step(work_dir, second_run) -> None:
    found = statuses(second_run)
    assert [found[s] for s in JOBS] == ["cached"] * 4
    assert found["Dataset"] == found["Champion"] == "ran"


def test_a_run_on_unchanged_data_registers_nothing_twice(first_run, second_run) -> None:
    assert second_run.package_arn is None
    assert "CheckGates" not in statuses(second_run)


def test_a_new_file_under_raw_is_a_new_version_and_retrains(
    work_dir, endpoint, second_run, tmp_path
) -> None:
    extra = tmp_path / "in" / "extra.csv"
    write_table(generate(4_000, seed=7), extra)
    third = run_local(
        "dev",
        input_path=extra.parent,
        work_dir=work_dir,
        endpoint_url=endpoint,
        config_file=loosen_regression(tmp_path),
    )
    assert dataset_of(work_dir, third)["version"] != dataset_of(work_dir, second_run)["version"]
    assert dataset_of(work_dir, third)["objects"] == 2
    assert [statuses(third)[s] for s in JOBS] == ["ran"] * 4
    assert third.package_arn is not None
    assert third.metadata["DatasetVersion"] == dataset_of(work_dir, third)["version"]


def test_a_scheduled_run_with_a_worse_challenger_fails_against_the_champion(
    work_dir, endpoint, second_run, tmp_path
) -> None:
    from ml.train import time_split

    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for item in s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="raw/").get("Contents", []):
        s3.delete_object(Bucket=DATA_BUCKET, Key=item["Key"])  # raw/ expired
    train, test = time_split(generate(40_000, seed=21), 0.2)  # a test split of ~64 frauds
    noisy = train.assign(is_fraud=train["is_fraud"].sample(frac=1, random_state=5).to_numpy())
    data = tmp_path / "in" / "noisy.csv"
    write_table(pd.concat([noisy, test], ignore_index=True), data)
    with pytest.raises(StepFailedError) as failed:
        run_local("dev", input_path=data, work_dir=work_dir, endpoint_url=endpoint)
    message = str(failed.value)
    assert message.startswith("pipeline stopped at GateFailed: challenger not registered:")
    assert "mlops-dev-fraud-models/" in message
    found = re.search(
        r"pr_auc (0\.\d+) vs champion (0\.\d+): .*?\[([-+]\d\.\d+), ([-+]\d\.\d+)\]", message
    )
    assert found is not None, message
    challenger, champion, _, high = (float(v) for v in found.groups())
    assert champion > 0.3 > challenger and high < -0.05  # worse beyond the margin, surely


def test_the_champion_report_holds_both_pr_curves(work_dir, endpoint, first_run, second_run):
    report = step_output(work_dir, second_run, "Champion", "champion")
    document = json.loads((report / "champion.json").read_text(encoding="utf-8"))
    assert document["champion"]["package_arn"] == first_run.package_arn
    assert [c.split(" (")[0] for c in document["report"]["curves"][:2]] == [
        "champion",
        "challenger",
    ]
    assert (report / "pr_curves.png").is_file()
    assert "pr_curves.png" in (report / "champion_vs_challenger.md").read_text(encoding="utf-8")


def run_local_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``mlops pipeline run-local`` in its own process: it starts (and stops) its own emulator."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "pipeline", "run-local", "--stack", "dev", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def test_a_challenger_below_the_gates_is_not_registered(work_dir, first_run, tmp_path) -> None:
    strict = tmp_path / "Pulumi.dev.yaml"
    strict.write_text(
        "config:\n  mlops:environment: dev\n  mlops:pipeline:\n    gates:\n      minPrAuc: 0.99\n",
        encoding="utf-8",
    )
    # A fresh emulator (its registry holds no champion), the module's step cache.
    done = run_local_cli("--work-dir", str(work_dir), "--config-file", str(strict))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert any(line.startswith("✗ GateFailed") for line in done.stderr.splitlines())
    assert re.search(
        r"GateFailed: challenger not registered: pr_auc 0\.\d+ is below its floor 0\.99", errors[0]
    )


def test_corrupted_input_stops_at_validation_and_quarantines_it(tmp_path) -> None:
    data = tmp_path / "in" / "broken.csv"
    data.parent.mkdir()
    data.write_text("transaction_id,amount\n1,lots\n", encoding="utf-8")
    done = run_local_cli("--input", str(data), "--work-dir", str(tmp_path / "work"))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert errors[0].startswith("error: pipeline stopped at Validate: 1 input file(s) failed")
    assert "no model registered" in errors[0]
    failed = [line for line in done.stderr.splitlines() if line.startswith("✗ ")]
    log = tmp_path / "work" / "runs"
    assert len(failed) == 1 and failed[0].startswith("✗ Validate")  # one line, however long
    assert re.search(
        rf"failed  log {re.escape(str(log))}/local-[^/]+/Validate/log\.txt$", failed[0]
    )
    assert "registered arn:" not in done.stdout
    quarantine = tmp_path / "work" / "quarantine"
    assert (quarantine / "broken.csv").read_bytes() == data.read_bytes()
    assert json.loads((quarantine / "broken.csv.reason.json").read_text())["checks_failed"]
