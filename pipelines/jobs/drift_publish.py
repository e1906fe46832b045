"""Publish a drift report (``ml.drift.compute_drift``) as CloudWatch metrics.

SageMaker Model Monitor is closed to new customers, so drift is our own
metric: ``mlops/drift`` holds ``MaxPSI``, ``DriftedFeatures`` and
``MaxCdfDistance`` per stack and endpoint, and ``FeaturePSI`` per feature.
The drift alarms of the monitoring component watch exactly these names and
dimensions (``metric_dimensions``), so publisher and alarm cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ml.errors import MlopsError

NAMESPACE = "mlops/drift"
BATCH_SIZE = 500  # PutMetricData accepts up to 1,000 values per request


class DriftReportError(MlopsError):
    """The report is not a drift report this publisher understands."""


def metric_dimensions(stack: str, endpoint: str) -> list[dict[str, str]]:
    """The dimensions every summary metric carries; alarms use the same list."""
    return [{"Name": "Stack", "Value": stack}, {"Name": "Endpoint", "Value": endpoint}]


def drift_metric_data(
    report: dict[str, Any], *, stack: str, endpoint: str, timestamp: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric data points of one drift report."""
    try:
        summary, features = report["summary"], report["features"]
        when = timestamp or datetime.now(UTC)
        dimensions = metric_dimensions(stack, endpoint)
        data = [
            _point("MaxPSI", summary["max_psi"], dimensions, when),
            _point("MaxCdfDistance", summary["max_cdf_distance"], dimensions, when),
            _point("DriftedFeatures", len(summary["drifted_features"]), dimensions, when, "Count"),
        ]
        for feature, result in sorted(features.items()):
            feature_dimensions = [*dimensions, {"Name": "Feature", "Value": feature}]
            data.append(_point("FeaturePSI", result["psi"], feature_dimensions, when))
    except (KeyError, TypeError) as error:
        raise DriftReportError(
            f"not a drift report (missing {error}); pass the JSON written by 'mlops drift --out'"
        ) from None
    return data


def publish_drift(
    report: dict[str, Any],
    *,
    stack: str,
    endpoint: str,
    cloudwatch: Any,
    timestamp: datetime | None = None,
) -> int:
    """Send the report's metrics to CloudWatch; returns how many values were sent."""
    data = drift_metric_data(report, stack=stack, endpoint=endpoint, timestamp=timestamp)
    for start in range(0, len(data), BATCH_SIZE):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + BATCH_SIZE])
    return len(data)


def _point(
    name: str, value: float, dimensions: list[dict[str, str]], when: datetime, unit: str = "None"
) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": when,
        "Value": float(value),
        "Unit": unit,
    }
