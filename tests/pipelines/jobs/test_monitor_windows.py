"""Which traffic the monitoring jobs judge: mature cohorts, same-hour references, small windows."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml import schema
from ml.capture_writer import capture_line, request_body, simulate_traffic, write_capture
from ml.data import generate
from ml.io import write_table
from ml.model_artifact import BASELINE_FILE, METADATA_FILE, TARBALL, pack
from pipelines.jobs.quality import mature_cohort, run_quality_job

BUCKET = "mlops-prod-monitoring"
ENDPOINT = "mlops-prod-endpoint"
PREFIX = f"data-capture/{ENDPOINT}/primary/"
LABELS = f"labels/{ENDPOINT}/"
NOW = datetime(2026, 2, 1, 10, 20, tzinfo=UTC)


class RecordingCloudWatch:
    """Keeps every data point sent."""

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.data += request["MetricData"]

    def names(self) -> set[str]:
        return {d["MetricName"] for d in self.data}


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName="g")
        yield s3, sagemaker


def _register(s3: Any, sagemaker: Any, model_dir: Path) -> str:
    """The model directory as a package's artifact; returns the package ARN."""
    archive = pack(model_dir, model_dir.parent / "artifact" / TARBALL)
    s3.upload_file(str(archive), BUCKET, f"models/{TARBALL}")
    return sagemaker.create_model_package(
        ModelPackageGroupName="g",
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{BUCKET}/models/{TARBALL}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def test_the_quality_cohort_ends_the_label_delay_before_the_jobs_hour() -> None:
    cohort = mature_cohort(NOW, window_hours=24, label_delay_hours=720)
    assert cohort.end == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert cohort.start == datetime(2026, 1, 1, 10, tzinfo=UTC)


# Labels trail predictions: a caught fraud is confirmed at once, a missed one weeks later.


def _hour_of_traffic(hour: datetime, tag: str) -> tuple[list[str], list[tuple[str, int, bool]]]:
    """100 frauds (30 caught) and 400 legitimate rows; (event, label, caught) for each."""
    row = generate(1, seed=3).loc[0, list(schema.FEATURE_COLUMNS)].tolist()
    request = request_body([[v.item() if hasattr(v, "item") else v for v in row]], "text/csv")
    lines, truth = [], []
    for number in range(500):
        fraud, caught = number < 100, number < 30
        score = 0.9 if caught else 0.1
        event = f"{tag}-{number}"
        when = hour + timedelta(seconds=number)
        response = f"{score},{int(score >= 0.5)}\n"
        lines.append(capture_line(request, "text/csv", response, "text/csv", event, when))
        truth.append((event, int(fraud), caught))
    return lines, truth


def _put_capture(s3: Any, hour: datetime, lines: list[str]) -> None:
    key = f"{PREFIX}{hour:%Y/%m/%d/%H}/a.jsonl"
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(f"{line}\n" for line in lines).encode())


def _put_labels(s3: Any, name: str, truth: list[tuple[str, int, bool]]) -> None:
    text = "event_id,is_fraud\n" + "".join(f"{event},{label}\n" for event, label, _ in truth)
    s3.put_object(Bucket=BUCKET, Key=f"{LABELS}{name}.csv", Body=text.encode())


def _quality_args(package: str, **changes: Any) -> argparse.Namespace:
    values = {
        "endpoint": ENDPOINT,
        "variant": "primary",
        "bucket": BUCKET,
        "capture_prefix": PREFIX,
        "labels_prefix": LABELS,
        "model_package_arn": package,
        "window_hours": 1.0,
        "label_delay_hours": 720.0,
        "min_labelled_rows": 100,
        "min_positives": 30,
        "min_segment_positives": 20,
        "min_label_coverage": 0.9,
        "now": NOW,
    }
    return argparse.Namespace(**{**values, **changes})


def test_quality_judges_the_mature_cohort_not_the_half_labelled_recent_one(
    aws: Any, tmp_path: Path
) -> None:
    s3, sagemaker = aws
    model = tmp_path / "model"
    model.mkdir()
    (model / METADATA_FILE).write_text(json.dumps({"decision_threshold": 0.5}))
    (model / BASELINE_FILE).write_text("{}")
    package = _register(s3, sagemaker, model)
    mature_hour = mature_cohort(NOW, 1, 720).start
    recent_hour = NOW.replace(minute=0) - timedelta(hours=1)
    old_lines, old_truth = _hour_of_traffic(mature_hour, "old")
    new_lines, new_truth = _hour_of_traffic(recent_hour, "new")
    _put_capture(s3, mature_hour, old_lines)
    _put_capture(s3, recent_hour, new_lines)
    _put_labels(s3, "old", old_truth)  # every label of the old hour has arrived
    _put_labels(s3, "new", [t for t in new_truth if t[1] == 0 or t[2]])  # missed frauds: not yet
    cloudwatch = RecordingCloudWatch()
    mature = run_quality_job(
        _quality_args(package), s3=s3, sagemaker=sagemaker, cloudwatch=cloudwatch, work=tmp_path
    )
    assert mature["summary"]["recall"] == pytest.approx(0.3)  # the true recall
    assert mature["label_coverage"] == 1.0
    assert {"Recall", "LabelCoverage", "LabelledPositives"} <= cloudwatch.names()
    recent = run_quality_job(
        _quality_args(package, label_delay_hours=0.0),
        s3=s3,
        sagemaker=sagemaker,
        cloudwatch=RecordingCloudWatch(),
        work=tmp_path / "recent",
    )
    # The recent hour's labels hold only the caught frauds: recall would read 1.0. Its
    # coverage (430 of 500) is below 0.9, so nothing is claimed.
    assert recent["label_coverage"] == pytest.approx(0.86)
    assert recent["summary"]["recall"] is None


# The drift job: small windows and the same clock hour of earlier days.


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.train import TrainParams, run_training

    root = tmp_path_factory.mktemp("small-model")
    write_table(generate(8_000, seed=11), root / "train.parquet")
    run_training(root / "train.parquet", None, root / "model", TrainParams(max_iter=20, seed=1))
    return root / "model"


def _send(s3: Any, model: Any, hour: datetime, rows: int, seed: int, work: Path) -> None:
    frame = generate(rows, seed=seed, hour=hour.hour)
    lines, _ = simulate_traffic(frame, model, day=hour, seed=seed)
    root = work / f"capture-{seed}"
    for path in write_capture(lines, root, endpoint=ENDPOINT, variant="primary"):
        s3.upload_file(str(path), BUCKET, f"data-capture/{path.relative_to(root).as_posix()}")


def _drift_args(package: str, **changes: Any) -> argparse.Namespace:
    values = {
        "stack": "prod",
        "endpoint": ENDPOINT,
        "bucket": BUCKET,
        "capture_prefix": PREFIX,
        "model_package_arn": package,
        "window_hours": 1.0,
        "psi_warn": 0.1,
        "psi_alarm": 0.25,
        "min_rows": 300,
        "score_reference_days": 3,
        "flag_rate_tolerance": 1.5,
        "now": NOW,
    }
    return argparse.Namespace(**{**values, **changes})


def test_a_small_window_publishes_insufficient_data_and_no_psi(
    aws: Any, tmp_path: Path, small_model: Path
) -> None:
    from ml.inference import model_fn
    from pipelines.jobs.drift import run_drift_job

    s3, sagemaker = aws
    package = _register(s3, sagemaker, small_model)
    _send(s3, model_fn(small_model), NOW.replace(minute=0) - timedelta(hours=1), 80, 1, tmp_path)
    cloudwatch = RecordingCloudWatch()
    report = run_drift_job(
        _drift_args(package), s3=s3, sagemaker=sagemaker, cloudwatch=cloudwatch, work=tmp_path
    )
    assert report["summary"]["status"] == "insufficient_data" and "scores" not in report
    assert {d["MetricName"]: d["Value"] for d in cloudwatch.data} == {
        "WindowRows": 80.0,
        "InsufficientData": 1.0,
    }


def test_the_window_scores_are_compared_with_the_same_hour_of_earlier_days(
    aws: Any, tmp_path: Path, small_model: Path
) -> None:
    from ml.inference import model_fn
    from pipelines.jobs.drift import run_drift_job

    s3, sagemaker = aws
    package = _register(s3, sagemaker, small_model)
    model = model_fn(small_model)
    hour = NOW.replace(minute=0) - timedelta(hours=1)
    for back in range(4):  # this hour and the same hour of the 3 days before
        _send(s3, model, hour - timedelta(days=back), 400, 20 + back, tmp_path)
    _send(s3, model, hour - timedelta(hours=5), 400, 30, tmp_path)  # another hour: not read
    cloudwatch = RecordingCloudWatch()
    report = run_drift_job(
        _drift_args(package), s3=s3, sagemaker=sagemaker, cloudwatch=cloudwatch, work=tmp_path
    )
    scores = report["scores"]
    assert (scores["status"], scores["rows"], scores["reference_rows"]) == ("measured", 400, 1200)
    assert scores["flag_rate_change"]["z"] < 3.09 and scores["psi"] < 0.1
    assert {"ScorePSI", "FlagRate", "FlagRateReference", "FlagRateChangeZ"} <= cloudwatch.names()
    assert {d["Timestamp"] for d in cloudwatch.data} == {NOW}  # stamped with the job's clock
