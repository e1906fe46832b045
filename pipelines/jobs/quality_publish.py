"""Publish a production quality report (``ml.quality.compute_quality``) as CloudWatch metrics.

``mlops/quality`` holds ``Precision``, ``Recall``, ``PrAuc``, ``LabelledRows`` and
``RecallGap`` (the largest recall difference between merchant categories with
enough frauds) per endpoint and variant, and ``SegmentRecall`` per merchant
category. The quality alarms watch exactly these names and dimensions
(``metric_dimensions``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ml.errors import MlopsError

NAMESPACE = "mlops/quality"
SEGMENT_DIMENSION = "MerchantCategory"
BATCH_SIZE = 500
HEADLINE_METRICS = {"precision": "Precision", "recall": "Recall", "pr_auc": "PrAuc"}


class QualityReportError(MlopsError):
    """The report is not a quality report this publisher understands."""


def metric_dimensions(endpoint: str, variant: str) -> list[dict[str, str]]:
    """The dimensions every quality metric carries; alarms use the same list."""
    return [{"Name": "Endpoint", "Value": endpoint}, {"Name": "Variant", "Value": variant}]


def quality_metric_data(
    report: dict[str, Any], *, endpoint: str, variant: str, timestamp: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric data points of one quality report; undefined values (NaN, None) are left out."""
    when = timestamp or datetime.now(UTC)
    dimensions = metric_dimensions(endpoint, variant)
    try:
        summary, bias = report["summary"], report["bias"]
        values = [(HEADLINE_METRICS[k], summary[k], dimensions, "None") for k in HEADLINE_METRICS]
        values.append(("LabelledRows", report["rows"], dimensions, "Count"))
        values.append(("RecallGap", bias["recall_gap"]["value"], dimensions, "None"))
        for segment, result in sorted(bias["segments"].items()):
            segment_dimensions = [*dimensions, {"Name": SEGMENT_DIMENSION, "Value": segment}]
            values.append(("SegmentRecall", result["recall"], segment_dimensions, "None"))
    except (KeyError, TypeError) as error:
        raise QualityReportError(
            f"not a quality report (missing {error}); pass the JSON written by 'mlops quality'"
        ) from None
    return [
        {
            "MetricName": name,
            "Dimensions": dims,
            "Timestamp": when,
            "Value": float(value),
            "Unit": unit,
        }
        for name, value, dims, unit in values
        if value is not None and math.isfinite(float(value))
    ]


def publish_quality(
    report: dict[str, Any],
    *,
    endpoint: str,
    variant: str,
    cloudwatch: Any,
    timestamp: datetime | None = None,
) -> int:
    """Send the report's metrics to CloudWatch; returns how many values were sent."""
    data = quality_metric_data(report, endpoint=endpoint, variant=variant, timestamp=timestamp)
    for start in range(0, len(data), BATCH_SIZE):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + BATCH_SIZE])
    return len(data)
