"""A CloudWatch metric as the component that emits it hands it out: ready for an alarm or a graph.

Components offer their metrics as ``metric_*`` methods returning ``Metric``
(``endpoint.metric_latency_p99()``, ``monitoring_pipeline.metric_drift()``),
so an alarm or a dashboard widget never rebuilds a namespace or a dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

HOUR = 3600  # seconds: the period of metrics published once an hour


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric with every dimension and the statistic an alarm needs."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str | None = None
    extended_statistic: str | None = None
    unit: str = "None"

    def alarm_inputs(self) -> dict[str, Any]:
        """The metric half of ``aws.cloudwatch.MetricAlarm``'s arguments."""
        inputs: dict[str, Any] = {
            "namespace": self.namespace,
            "metric_name": self.metric_name,
            "dimensions": dict(self.dimensions),
        }
        if self.extended_statistic is not None:
            inputs["extended_statistic"] = self.extended_statistic
        else:
            inputs["statistic"] = self.statistic
        return inputs
