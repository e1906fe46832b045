"""The monitoring loop offline: capture in S3 -> the jobs as SageMaker runs them -> alarms.

moto's server on 127.0.0.1 stands in for AWS. The prod plan (pinned model)
supplies the monitoring pipeline's step arguments and the alarm definitions;
the model package the plan pins is registered in moto with a model trained
here, and capture files of generated traffic answered by that model land where
the endpoint writes them. Each job runs as a subprocess with the container's
environment, and ``ops.local.alarm_evaluation`` applies CloudWatch's alarm rule,
since moto stores alarms without evaluating them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.plan.engine import Plan, synthesize
from ml.capture_writer import simulate_traffic, write_capture
from ml.data import generate
from ml.inference import model_fn
from ml.io import write_table
from ml.model_artifact import TARBALL, pack
from ml.train import TrainParams, run_training
from ops.local.alarm_evaluation import alarm_parameters, evaluate_alarm
from ops.local.emulator import moto_server
from pipelines.definitions.training_spec import PROCESSING
from tests.ops.retrain_delivery import retrain_runs

REPO = Path(__file__).resolve().parents[2]
GROUP = "mlops-prod-fraud-models"
PACKAGE = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"
# Labels here are written with the traffic, so the quality cohort needs no delay to mature.
OVERRIDES = (f"serving.modelPackageArn={PACKAGE}", "monitoring.quality.labelDelayHours=0")
DRIFT_ALARM = "mlops-prod-drift-alarm"
RECALL_ALARM = "mlops-prod-quality-recall"
PLANNED_ALARMS = (
    DRIFT_ALARM,
    "mlops-prod-drift-warn",
    "mlops-prod-drift-flag-rate",
    RECALL_ALARM,
    "mlops-prod-quality-precision",
    "mlops-prod-quality-recall-gap",
)
HOURS = 2  # the planned alarms need 2 breaching hourly windows (monitoring.alarmDatapoints)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server on a free port of 127.0.0.1, stopped after the module."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def plan() -> Plan:
    return synthesize("prod", overrides=list(OVERRIDES))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model and its evaluation (``evaluation/evaluation.json`` beside it)."""
    from ml.evaluate import run_evaluation

    root = tmp_path_factory.mktemp("model")
    write_table(generate(15_000, seed=101), root / "train.parquet")
    write_table(generate(30_000, seed=102), root / "test.parquet")
    run_training(root / "train.parquet", None, root / "model", TrainParams(max_iter=40, seed=7))
    run_evaluation(root / "model", root / "test.parquet", root / "evaluation")
    return root / "model"


@dataclass
class Emulated:
    """The emulated account: clients, the monitoring bucket and the pipeline's step arguments."""

    url: str
    s3: Any
    cloudwatch: Any
    bucket: str
    steps: dict[str, list[str]]
    model: Any


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=url)


def _model_archive(model_dir: Path) -> bytes:
    archive = model_dir.parent / "artifact" / TARBALL  # SageMaker tars /opt/ml/model's contents
    return pack(model_dir, archive).read_bytes()


@pytest.fixture
def aws(moto_url: str, plan: Plan, model_dir: Path) -> Emulated:
    """A fresh emulated account: buckets, the pinned package with its artifact, planned alarms."""
    urllib.request.urlopen(
        urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10
    )
    s3, sagemaker = _client("s3", moto_url), _client("sagemaker", moto_url)
    cloudwatch = _client("cloudwatch", moto_url)
    definition = json.loads(
        plan.one("aws:sagemaker/pipeline:Pipeline", "mlops-prod-monitoring")["inputs"][
            "pipelineDefinition"
        ]
    )
    steps = {
        step["Name"]: step["Arguments"]["AppSpecification"]["ContainerArguments"]
        for step in definition["Steps"]
    }
    bucket = steps["Drift"][steps["Drift"].index("--bucket") + 1]
    artifacts = plan.outputs["artifactsBucket"]
    for name in (bucket, artifacts):
        s3.create_bucket(Bucket=name)
    key = f"pipeline-runs/run-1/train/pipelines-run-1-Train/output/{TARBALL}"
    s3.put_object(Bucket=artifacts, Key=key, Body=_model_archive(model_dir))
    evaluation = "pipeline-runs/run-1/evaluate/evaluation.json"
    s3.upload_file(str(model_dir.parent / "evaluation" / "evaluation.json"), artifacts, evaluation)
    metrics = {"ContentType": "application/json", "S3Uri": f"s3://{artifacts}/{evaluation}"}
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    for _ in range(3):  # version 3 is the package the plan pins
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            InferenceSpecification={
                "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{artifacts}/{key}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={"ModelQuality": {"Statistics": metrics}},
        )["ModelPackageArn"]
    assert arn == PACKAGE
    for name in PLANNED_ALARMS:
        inputs = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", name)["inputs"]
        cloudwatch.put_metric_alarm(**alarm_parameters(inputs))
    return Emulated(moto_url, s3, cloudwatch, bucket, steps, model_fn(model_dir))


def _clock() -> datetime:
    """Yesterday at 15:10 UTC: the same clock hours of traffic whenever the test runs.

    Fraud follows the clock (several times likelier at night), so a test on the
    last real hours would see a different number of frauds at every run. The jobs
    take this clock as ``--now`` and the alarms are judged at it.
    """
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return yesterday.replace(hour=15, minute=10, second=0, microsecond=0)


def _hours(now: datetime) -> list[datetime]:
    """The starts of the last HOURS full clock hours before ``now``, oldest first."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=back) for back in range(HOURS, 0, -1)]


def _send_traffic(
    aws: Emulated, tmp_path: Path, now: datetime, rows: int, drift: str | None
) -> Any:
    """``rows`` requests in each of the last HOURS clock hours, in the bucket; returns the labels.

    Each hour's transactions happen in that clock hour, as a real endpoint's traffic does.
    """
    import pandas as pd

    root, labels = tmp_path / "capture", []
    for number, hour in enumerate(_hours(now)):
        frame = generate(rows, seed=5 + number, drift=drift, hour=hour.hour)
        lines, hour_labels = simulate_traffic(frame, aws.model, day=hour, seed=number)
        labels.append(hour_labels)
        for path in write_capture(lines, root, endpoint="mlops-prod-endpoint", variant="primary"):
            key = f"data-capture/{path.relative_to(root)}"
            aws.s3.upload_file(str(path), aws.bucket, key)
    return pd.concat(labels, ignore_index=True)


def _run_step(aws: Emulated, step: str, tmp_path: Path, now: datetime) -> dict[str, Any]:
    """The step's module as the container runs it: its arguments, /opt/ml/processing mapped."""
    args = aws.steps[step]
    module = {"Drift": "pipelines.jobs.drift", "Quality": "pipelines.jobs.quality"}[step]
    root = tmp_path / "opt-ml-processing"
    mapped = [a.replace(PROCESSING, str(root)) for a in args]
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.url,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", module, *mapped, "--now", now.isoformat()],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = Path(mapped[mapped.index("--out") + 1])
    return json.loads(out.read_text())


def _run_hourly(aws: Emulated, step: str, tmp_path: Path, now: datetime) -> list[dict[str, Any]]:
    """The step once at the end of each hour of traffic, as the hourly schedule runs it."""
    return [
        _run_step(aws, step, tmp_path / f"run-{number}", hour + timedelta(hours=1))
        for number, hour in enumerate(_hours(now))
    ]


def _state(aws: Emulated, name: str) -> str:
    return aws.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def test_drifted_traffic_puts_the_drift_alarm_in_alarm(aws: Emulated, tmp_path: Path) -> None:
    now = _clock()
    _send_traffic(aws, tmp_path, now, 2_000, "amount_shift")
    first, report = _run_hourly(aws, "Drift", tmp_path, now)
    # One drifted window is not yet evidence enough: the alarm needs 2 of its 3 periods.
    assert first["summary"]["status"] == "alarm"
    assert report["status"] == "measured" and report["input"]["events"] == 2_000
    stack_endpoint = [
        {"Name": "Stack", "Value": "prod"},
        {"Name": "Endpoint", "Value": "mlops-prod-endpoint"},
    ]
    points = aws.cloudwatch.get_metric_statistics(
        Namespace="mlops/drift",
        MetricName="MaxPSI",
        Dimensions=stack_endpoint,
        StartTime=now - timedelta(hours=3),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert points and min(p["Maximum"] for p in points) >= 0.25
    evaluation = evaluate_alarm(aws.cloudwatch, DRIFT_ALARM, now + timedelta(seconds=1))
    assert evaluation.state == "ALARM"
    assert _state(aws, DRIFT_ALARM) == "ALARM"


def test_one_drifted_window_is_not_enough_for_the_drift_alarm(
    aws: Emulated, tmp_path: Path
) -> None:
    now = _clock()
    _send_traffic(aws, tmp_path, now, 2_000, "amount_shift")
    report = _run_step(aws, "Drift", tmp_path, now.replace(minute=0, second=0, microsecond=0))
    assert report["summary"]["status"] == "alarm"
    later = now + timedelta(seconds=1)
    assert evaluate_alarm(aws.cloudwatch, DRIFT_ALARM, later).state == "OK"


def test_undrifted_traffic_leaves_every_alarm_ok(aws: Emulated, tmp_path: Path) -> None:
    now = _clock()
    labels = _send_traffic(aws, tmp_path, now, 6_000, None)
    write_table(labels, tmp_path / "labels.csv")
    aws.s3.upload_file(
        str(tmp_path / "labels.csv"), aws.bucket, "labels/mlops-prod-endpoint/labels.csv"
    )
    drift = _run_hourly(aws, "Drift", tmp_path / "drift", now)
    assert max(r["summary"]["max_psi"] for r in drift) < 0.1
    assert "hour" in drift[-1]["not_compared"]  # an hour-long window holds one clock hour
    quality = _run_hourly(aws, "Quality", tmp_path / "quality", now)
    assert [r["status"] for r in quality] == ["measured", "measured"]
    assert quality[-1]["label_coverage"] == 1.0
    later = now + timedelta(seconds=1)
    states = {name: evaluate_alarm(aws.cloudwatch, name, later).state for name in PLANNED_ALARMS}
    assert states == dict.fromkeys(PLANNED_ALARMS, "OK")


def test_labels_that_drop_recall_put_the_recall_alarm_in_alarm(
    aws: Emulated, tmp_path: Path
) -> None:
    now = _clock()
    # The small model catches 8% of fraud: a drop to 0 is sure from about 150 frauds an hour.
    labels = _send_traffic(aws, tmp_path, now, 10_000, "fraud_pattern_change")
    write_table(labels, tmp_path / "labels.parquet")
    aws.s3.upload_file(
        str(tmp_path / "labels.parquet"), aws.bucket, "labels/mlops-prod-endpoint/day-1.parquet"
    )
    report = _run_hourly(aws, "Quality", tmp_path, now)[-1]
    assert report["summary"]["recall"] < 0.05
    assert report["changes"]["recall"]["z"] >= 3.09
    evaluation = evaluate_alarm(aws.cloudwatch, RECALL_ALARM, now + timedelta(seconds=1))
    assert evaluation.state == "ALARM"
    assert _state(aws, RECALL_ALARM) == "ALARM"


def test_an_hour_without_traffic_publishes_nothing_and_succeeds(
    aws: Emulated, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    report = _run_step(aws, "Drift", tmp_path, now)
    assert report == {
        "status": "no_traffic",
        "source": report["source"],
        "published": 0,
    }
    assert aws.cloudwatch.list_metrics(Namespace="mlops/drift")["Metrics"] == []
    assert evaluate_alarm(aws.cloudwatch, DRIFT_ALARM).state == "OK"


def test_a_drift_alarm_delivered_twice_starts_exactly_one_training_run(
    aws: Emulated, plan: Plan, tmp_path: Path
) -> None:
    now = _clock()
    _send_traffic(aws, tmp_path, now, 2_000, "amount_shift")
    _run_hourly(aws, "Drift", tmp_path, now)
    later = now + timedelta(seconds=1)
    assert evaluate_alarm(aws.cloudwatch, DRIFT_ALARM, later).state == "ALARM"
    decisions, executions = retrain_runs(aws.url, plan, deliveries=2, alarm=DRIFT_ALARM)
    assert decisions == [True, False]
    assert executions == 1


def test_undrifted_traffic_starts_no_training_run(
    aws: Emulated, plan: Plan, tmp_path: Path
) -> None:
    now = _clock()
    _send_traffic(aws, tmp_path, now, 2_000, None)
    _run_hourly(aws, "Drift", tmp_path, now)
    assert evaluate_alarm(aws.cloudwatch, DRIFT_ALARM, now).state == "OK"
    assert retrain_runs(aws.url, plan, deliveries=2, alarm=DRIFT_ALARM) == ([], 0)


def test_a_recall_alarm_delivered_twice_starts_exactly_one_training_run(
    aws: Emulated, plan: Plan, tmp_path: Path
) -> None:
    now = _clock()
    labels = _send_traffic(aws, tmp_path, now, 10_000, "fraud_pattern_change")
    write_table(labels, tmp_path / "labels.parquet")
    aws.s3.upload_file(
        str(tmp_path / "labels.parquet"), aws.bucket, "labels/mlops-prod-endpoint/day-1.parquet"
    )
    _run_hourly(aws, "Quality", tmp_path, now)
    later = now + timedelta(seconds=1)
    assert evaluate_alarm(aws.cloudwatch, RECALL_ALARM, later).state == "ALARM"
    decisions, executions = retrain_runs(aws.url, plan, 2, alarm=RECALL_ALARM, rule_name="quality")
    assert (decisions, executions) == ([True, False], 1)
