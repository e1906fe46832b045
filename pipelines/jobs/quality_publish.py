"""Publish a production quality report (``ml.quality.compute_quality``) as CloudWatch metrics.

``mlops/quality`` holds, per endpoint and variant: ``LabelledRows``,
``LabelledPositives`` and ``LabelCoverage`` of every window with labelled
traffic; ``Precision``, ``Recall`` and ``PrAuc`` when the window has enough
frauds (flagged rows, for precision) to report them; ``RecallDropZ`` and
``PrecisionDropZ``, how surely each fell below the serving model's evaluated
value, and ``SegmentRecallDropZ``, how surely a merchant category's recall
fell behind the others more than it did in the evaluation (the bias alarm);
``RecallGap``, the raw gap between categories, for the dashboard; and
``SegmentRecall`` per category with enough frauds. A value that is undefined
or unsupported by the counts is not published: an alarm never sees a 0.0
that means "not measured". Names and dimensions come from ``pipelines.metrics``,
which the quality alarms read too.
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
DROP_METRICS = {"recall": metrics.RECALL_DROP_Z, "precision": metrics.PRECISION_DROP_Z}


class QualityReportError(MlopsError):
    """The report is not a quality report this publisher understands."""


def coverage_values(
    join: dict[str, Any], positives: int, dimensions: dict[str, str]
) -> list[tuple[str, Any, dict[str, str], str]]:
    """How much of the window is labelled: published even when too little is to measure."""
    predictions = join["matched"] + join["unmatched_predictions"]
    return [
        (metrics.LABELLED_ROWS, join["matched"], dimensions, "Count"),
        (metrics.LABELLED_POSITIVES, positives, dimensions, "Count"),
        (
            metrics.LABEL_COVERAGE,
            join["matched"] / predictions if predictions else None,
            dimensions,
            "None",
        ),
    ]


def quality_metric_data(
    report: dict[str, Any], *, endpoint: str, variant: str, timestamp: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric data points of one quality report; undefined values (NaN, None) are left out."""
    when = timestamp or datetime.now(UTC)
    dimensions = metrics.quality_dimensions(endpoint, variant)
    try:
        summary, bias = report["summary"], report["bias"]
        values = [(HEADLINE_METRICS[k], summary[k], dimensions, "None") for k in HEADLINE_METRICS]
        if "join" in report:
            values += coverage_values(report["join"], report["positives"], dimensions)
        else:
            values.append((metrics.LABELLED_ROWS, report["rows"], dimensions, "Count"))
        values.append((metrics.RECALL_GAP, bias["recall_gap"]["value"], dimensions, "None"))
        enough = bias.get("min_positives", 0)
        for segment, result in sorted(bias["segments"].items()):
            if result.get("positives", enough) < enough:
                continue
            segment_dimensions = metrics.quality_dimensions(endpoint, variant, segment)
            values.append((metrics.SEGMENT_RECALL, result["recall"], segment_dimensions, "None"))
        values += _drop_values(report.get("changes"), dimensions)
    except (KeyError, TypeError) as error:
        raise QualityReportError(
            f"not a quality report (missing {error}); pass the JSON written by 'mlops quality'"
        ) from None
    return points(values, when)


def _drop_values(
    changes: dict[str, Any] | None, dimensions: dict[str, str]
) -> list[tuple[str, Any, dict[str, str], str]]:
    if not changes:
        return []
    values = [
        (name, changes[key].get("z"), dimensions, "None")
        for key, name in DROP_METRICS.items()
        if key in changes
    ]
    segments = changes.get("segments")
    if segments is not None:
        values.append((metrics.SEGMENT_RECALL_DROP_Z, segments["z"], dimensions, "None"))
    return values


def points(
    values: list[tuple[str, Any, dict[str, str], str]], when: datetime
) -> list[dict[str, Any]]:
    """Data points of the defined, finite values."""
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
