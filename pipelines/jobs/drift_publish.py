"""Publish a drift report (``ml.drift.compute_drift``) as CloudWatch metrics.

SageMaker Model Monitor is closed to new customers, so drift is our own
metric. ``mlops/drift`` holds, per stack and endpoint: ``WindowRows`` and
``InsufficientData`` (1 when the window had too few rows to compare, 0
otherwise) for every window with traffic; ``MaxPSI``, ``DriftedFeatures`` and
``MaxCdfDistance``, and ``FeaturePSI`` per compared feature, for a compared
window; and, when the window's scores were compared with the same clock hour
of earlier days, ``ScorePSI``, ``FlagRate``, ``FlagRateReference`` and
``FlagRateChangeZ``. Names and dimensions come from ``pipelines.metrics``,
which the drift alarms read too, so publisher and alarm cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ml.errors import MlopsError
from pipelines import metrics
from pipelines.metrics import datum

INSUFFICIENT = "insufficient_data"


class DriftReportError(MlopsError):
    """The report is not a drift report this publisher understands."""


def drift_metric_data(
    report: dict[str, Any], *, stack: str, endpoint: str, timestamp: datetime | None = None
) -> list[dict[str, Any]]:
    """The metric data points of one drift report."""
    try:
        summary, features = report["summary"], report["features"]
        when = timestamp or datetime.now(UTC)
        dimensions = metrics.drift_dimensions(stack, endpoint)
        insufficient = summary["status"] == INSUFFICIENT
        data = [
            datum(metrics.WINDOW_ROWS, report["rows"], dimensions, when, "Count"),
            datum(metrics.INSUFFICIENT_DATA, int(insufficient), dimensions, when, "Count"),
        ]
        if insufficient:
            return data
        data += [
            datum(metrics.MAX_PSI, summary["max_psi"], dimensions, when),
            datum(metrics.MAX_CDF_DISTANCE, summary["max_cdf_distance"], dimensions, when),
            datum(
                metrics.DRIFTED_FEATURES,
                len(summary["drifted_features"]),
                dimensions,
                when,
                "Count",
            ),
        ]
        for feature, result in sorted(features.items()):
            feature_dimensions = metrics.drift_dimensions(stack, endpoint, feature)
            data.append(datum(metrics.FEATURE_PSI, result["psi"], feature_dimensions, when))
        data += _score_data(report.get("scores"), dimensions, when)
    except (KeyError, TypeError) as error:
        raise DriftReportError(
            f"not a drift report (missing {error}); pass the JSON written by 'mlops drift --out'"
        ) from None
    return data


def _score_data(
    scores: dict[str, Any] | None, dimensions: dict[str, str], when: datetime
) -> list[dict[str, Any]]:
    """The output-drift points, when the scores were compared with enough rows on both sides."""
    if not scores or scores.get("status") != "measured":
        return []
    return [
        datum(metrics.SCORE_PSI, scores["psi"], dimensions, when),
        datum(metrics.FLAG_RATE, scores["flag_rate"], dimensions, when),
        datum(metrics.FLAG_RATE_REFERENCE, scores["reference_flag_rate"], dimensions, when),
        datum(metrics.FLAG_RATE_CHANGE_Z, scores["flag_rate_change"]["z"], dimensions, when),
    ]


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
    return metrics.put_metric_data(cloudwatch, metrics.DRIFT_NAMESPACE, data)
