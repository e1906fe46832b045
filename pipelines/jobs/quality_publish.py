"""Publish a production quality report (``ml.quality.compute_quality``) as CloudWatch metrics.

``mlops/quality`` holds ``Precision``, ``Recall``, ``PrAuc``, ``LabelledRows`` and
``RecallGap`` (the largest recall difference between merchant categories with
enough frauds) per endpoint and variant, and ``SegmentRecall`` per merchant
category. Names and dimensions come from ``pipelines.metrics``, which the
quality alarms read too.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ml.errors import MlopsError
from pipelines import metrics
from pipelines.metrics import datum

HEADLINE_METRICS = {
    "precision": metrics.PRECISION,
    "recall": metrics.RECALL,
    "pr_auc": metrics.PR_AUC,
}


class QualityReportError(MlopsError):
    """The report is not a quality report this publisher understands."""


def quality_metric_data(
    report: dict[str, Any], *, endpoint: str, variant: str, timestamp: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric data points of one quality report; undefined values (NaN, None) are left out."""
    when = timestamp or datetime.now(UTC)
    dimensions = metrics.quality_dimensions(endpoint, variant)
    try:
        summary, bias = report["summary"], report["bias"]
        values = [(HEADLINE_METRICS[k], summary[k], dimensions, "None") for k in HEADLINE_METRICS]
        values.append((metrics.LABELLED_ROWS, report["rows"], dimensions, "Count"))
        values.append((metrics.RECALL_GAP, bias["recall_gap"]["value"], dimensions, "None"))
        for segment, result in sorted(bias["segments"].items()):
            segment_dimensions = metrics.quality_dimensions(endpoint, variant, segment)
            values.append((metrics.SEGMENT_RECALL, result["recall"], segment_dimensions, "None"))
    except (KeyError, TypeError) as error:
        raise QualityReportError(
            f"not a quality report (missing {error}); pass the JSON written by 'mlops quality'"
        ) from None
    return [
        datum(name, value, dims, when, unit)
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
    return metrics.put_metric_data(cloudwatch, metrics.QUALITY_NAMESPACE, data)
