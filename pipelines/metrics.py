"""The metric contract of the monitoring jobs: namespaces, metric names, dimensions, data points.

SageMaker Model Monitor is closed to new customers, so drift and model quality
are our own CloudWatch metrics. The jobs publish them
(``pipelines/jobs/drift_publish.py``, ``quality_publish.py``, and every job's
heartbeat, ``heartbeat.py``); the Pulumi program reaches them only through
``MonitoringPipeline.metric_drift()``, ``metric_quality()`` and
``metric_heartbeat()``, which build on this module, so a publisher and the
alarms and dashboard that watch it cannot disagree. Standard library only:
the project image, ``infra/`` and the operator tools all read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

DRIFT_NAMESPACE = "mlops/drift"
QUALITY_NAMESPACE = "mlops/quality"
MONITORING_NAMESPACE = "mlops/monitoring"
PUBLISHED_NAMESPACES = (DRIFT_NAMESPACE, QUALITY_NAMESPACE, MONITORING_NAMESPACE)

# mlops/drift, per stack and endpoint; FeaturePSI also per feature.
WINDOW_ROWS = "WindowRows"  # rows in the window, published whenever there was traffic
INSUFFICIENT_DATA = "InsufficientData"  # 1: too few rows to compare, and nothing else published
MAX_PSI = "MaxPSI"
MAX_CDF_DISTANCE = "MaxCdfDistance"
DRIFTED_FEATURES = "DriftedFeatures"
FEATURE_PSI = "FeaturePSI"
FEATURE_DIMENSION = "Feature"
# The model's output against the same clock hour of earlier days.
SCORE_PSI = "ScorePSI"
FLAG_RATE = "FlagRate"
FLAG_RATE_REFERENCE = "FlagRateReference"
FLAG_RATE_CHANGE_Z = "FlagRateChangeZ"  # z of "moved beyond the tolerance"; alarms watch it

# mlops/quality, per endpoint and variant; SegmentRecall also per merchant category.
PRECISION = "Precision"
RECALL = "Recall"
PR_AUC = "PrAuc"
LABELLED_ROWS = "LabelledRows"
LABELLED_POSITIVES = "LabelledPositives"
LABEL_COVERAGE = "LabelCoverage"
RECALL_GAP = "RecallGap"  # descriptive: categories differ in how catchable their fraud is
SEGMENT_RECALL = "SegmentRecall"
SEGMENT_DIMENSION = "MerchantCategory"
# z values of drops from the serving model's evaluation; the quality alarms watch these.
RECALL_DROP_Z = "RecallDropZ"
PRECISION_DROP_Z = "PrecisionDropZ"
SEGMENT_RECALL_DROP_Z = "SegmentRecallDropZ"

# mlops/monitoring, per endpoint and job: every successful run of a monitoring job sends one
# value (the capture rows it read, 0 for an hour without traffic), so its absence means the
# job did not run or failed; the staleness alarms treat missing data as breaching.
HEARTBEAT = "RowsRead"
JOB_DIMENSION = "Job"

BATCH_SIZE = 500  # PutMetricData accepts up to 1,000 values per request


def drift_dimensions(stack: str, endpoint: str, feature: str | None = None) -> dict[str, str]:
    """The dimensions of a drift metric: stack and endpoint, and the feature for FeaturePSI."""
    dimensions = {"Stack": stack, "Endpoint": endpoint}
    if feature is not None:
        dimensions[FEATURE_DIMENSION] = feature
    return dimensions


def quality_dimensions(endpoint: str, variant: str, segment: str | None = None) -> dict[str, str]:
    """The dimensions of a quality metric: endpoint and variant, and the segment's category."""
    dimensions = {"Endpoint": endpoint, "Variant": variant}
    if segment is not None:
        dimensions[SEGMENT_DIMENSION] = segment
    return dimensions


def heartbeat_dimensions(endpoint: str, job: str) -> dict[str, str]:
    """The dimensions of a job's heartbeat: the endpoint it watches and the job's name."""
    return {"Endpoint": endpoint, JOB_DIMENSION: job}


def cloudwatch_dimensions(dimensions: Mapping[str, str]) -> list[dict[str, str]]:
    """Dimensions as the CloudWatch API lists them (``[{"Name": ..., "Value": ...}]``)."""
    return [{"Name": name, "Value": value} for name, value in dimensions.items()]


def datum(
    name: str, value: float, dimensions: Mapping[str, str], when: datetime, unit: str = "None"
) -> dict[str, Any]:
    """One ``PutMetricData`` data point."""
    return {
        "MetricName": name,
        "Dimensions": cloudwatch_dimensions(dimensions),
        "Timestamp": when,
        "Value": float(value),
        "Unit": unit,
    }


def put_metric_data(cloudwatch: Any, namespace: str, data: Sequence[dict[str, Any]]) -> int:
    """Send ``data`` to ``namespace`` in batches CloudWatch accepts; returns how many were sent."""
    for start in range(0, len(data), BATCH_SIZE):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=list(data[start : start + BATCH_SIZE])
        )
    return len(data)
