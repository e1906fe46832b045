"""The metric contract: one module, light enough for every layer, batching what it sends."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from pipelines import metrics

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class RecordingCloudWatch:
    """Keeps each ``put_metric_data`` request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def put_metric_data(self, **request) -> None:
        self.requests.append(request)


def test_feature_and_segment_dimensions_extend_the_summary_dimensions() -> None:
    summary = metrics.drift_dimensions("prod", "mlops-prod-endpoint")
    assert summary == {"Stack": "prod", "Endpoint": "mlops-prod-endpoint"}
    per_feature = metrics.drift_dimensions("prod", "mlops-prod-endpoint", "amount")
    assert per_feature == {**summary, "Feature": "amount"}
    headline = metrics.quality_dimensions("mlops-prod-endpoint", "primary")
    segment = metrics.quality_dimensions("mlops-prod-endpoint", "primary", "travel")
    assert segment == {**headline, "MerchantCategory": "travel"}


def test_a_datum_lists_dimensions_as_cloudwatch_takes_them() -> None:
    point = metrics.datum("MaxPSI", 1, {"Stack": "dev", "Endpoint": "e"}, NOW)
    assert point == {
        "MetricName": "MaxPSI",
        "Dimensions": [{"Name": "Stack", "Value": "dev"}, {"Name": "Endpoint", "Value": "e"}],
        "Timestamp": NOW,
        "Value": 1.0,
        "Unit": "None",
    }


def test_more_points_than_one_request_takes_go_in_batches() -> None:
    cloudwatch = RecordingCloudWatch()
    data = [metrics.datum("FeaturePSI", i, {"Feature": str(i)}, NOW) for i in range(1_201)]
    sent = metrics.put_metric_data(cloudwatch, metrics.DRIFT_NAMESPACE, data)
    assert sent == 1_201
    assert [len(r["MetricData"]) for r in cloudwatch.requests] == [500, 500, 201]
    assert {r["Namespace"] for r in cloudwatch.requests} == {"mlops/drift"}
    assert [p for r in cloudwatch.requests for p in r["MetricData"]] == data


def test_the_contract_imports_nothing_but_the_standard_library() -> None:
    script = (
        "import sys, pipelines.metrics\n"
        "heavy = {'pandas', 'numpy', 'boto3', 'pulumi', 'sklearn', 'ml'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
