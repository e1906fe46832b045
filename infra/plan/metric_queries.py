"""A planned alarm's metric queries in the form PutMetricAlarm takes them.

The provider's ``metricQuery`` block nests the metric, period, stat and unit
under ``metric``; the API's ``MetricDataQuery`` puts them in ``MetricStat``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html).
The plan's API-call validator and the offline alarm evaluator both read alarms
this way, so it lives here, free of heavy imports.
"""

from __future__ import annotations

from typing import Any


def api_metric_queries(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The provider's ``metricQuery`` blocks as PutMetricAlarm's ``Metrics``: a query's
    ``metric`` block is the API's ``MetricStat`` (metric, period, stat, unit)."""
    metrics = []
    for query in queries:
        item: dict[str, Any] = {k[:1].upper() + k[1:]: v for k, v in query.items() if k != "metric"}
        block = query.get("metric")
        if block:
            dimensions = block.get("dimensions") or {}
            stat: dict[str, Any] = {
                "Metric": {
                    "Namespace": block.get("namespace"),
                    "MetricName": block.get("metricName"),
                    "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
                },
                "Period": int(block.get("period") or 0),
                "Stat": block.get("stat"),
            }
            if block.get("unit"):
                stat["Unit"] = block["unit"]
            item["MetricStat"] = stat
        metrics.append(item)
    return metrics
