"""Drift reports become CloudWatch metrics with the dimensions the alarms watch (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ml.data import generate
from ml.drift import build_baseline, compute_drift
from pipelines.jobs.drift_publish import DriftReportError, publish_drift
from pipelines.metrics import cloudwatch_dimensions, drift_dimensions

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shifted_report() -> dict:
    baseline = build_baseline(generate(5_000, seed=1))
    return compute_drift(baseline, generate(5_000, seed=2, drift="amount_shift"))


def statistic(cloudwatch, name: str, dimensions: list[dict[str, str]]) -> float:
    points = cloudwatch.get_metric_statistics(
        Namespace="mlops/drift",
        MetricName=name,
        Dimensions=dimensions,
        StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert len(points) == 1, points
    return points[0]["Maximum"]


@mock_aws
def test_summary_and_per_feature_psi_reach_cloudwatch(shifted_report: dict) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sent = publish_drift(
        shifted_report,
        stack="prod",
        endpoint="mlops-prod-endpoint",
        cloudwatch=cloudwatch,
        timestamp=NOW,
    )
    assert sent == 5 + len(shifted_report["features"])  # rows, insufficient data, summary
    dimensions = cloudwatch_dimensions(drift_dimensions("prod", "mlops-prod-endpoint"))
    assert statistic(cloudwatch, "MaxPSI", dimensions) == pytest.approx(
        shifted_report["summary"]["max_psi"]
    )
    assert shifted_report["summary"]["max_psi"] >= 0.25
    amount = [*dimensions, {"Name": "Feature", "Value": "amount"}]
    assert statistic(cloudwatch, "FeaturePSI", amount) == pytest.approx(
        shifted_report["features"]["amount"]["psi"]
    )
    assert statistic(cloudwatch, "DriftedFeatures", dimensions) == len(
        shifted_report["summary"]["drifted_features"]
    )


@mock_aws
def test_metrics_of_another_stack_stay_apart(shifted_report: dict) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    publish_drift(
        shifted_report, stack="staging", endpoint="e", cloudwatch=cloudwatch, timestamp=NOW
    )
    listed = cloudwatch.list_metrics(Namespace="mlops/drift", MetricName="MaxPSI")["Metrics"]
    assert [m["Dimensions"] for m in listed] == [
        cloudwatch_dimensions(drift_dimensions("staging", "e"))
    ]


def test_a_file_that_is_not_a_drift_report_is_refused_in_one_line() -> None:
    with pytest.raises(DriftReportError, match="not a drift report") as raised:
        publish_drift({"rows": 3}, stack="dev", endpoint="e", cloudwatch=None)
    assert "\n" not in str(raised.value)
