"""A CloudWatch metric as the component that emits it hands it out: ready for an alarm or a graph.

Components offer their metrics as ``metric_*`` methods returning ``Metric``
(``endpoint.metric_latency_p99()``, ``monitoring_pipeline.metric_drift()``),
so an alarm or a dashboard widget never rebuilds a namespace or a dimension,
and every alarm of the stack is made by ``Metric.create_alarm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext

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

    def filled_queries(self, value: float, period: int) -> list[dict[str, Any]]:
        """``metric_queries`` that alarm on ``FILL(metric, value)``: a period without data is
        ``value``, a real datapoint, so the alarm counts silence from its first silent period
        (missing data would be judged only past CloudWatch's evaluation range)."""
        metric: dict[str, Any] = {
            "namespace": self.namespace,
            "metric_name": self.metric_name,
            "dimensions": dict(self.dimensions),
            "period": period,
            "stat": self.statistic,
        }
        return [
            {"id": "metric", "metric": metric, "return_data": False},
            {
                "id": "filled",
                "expression": f"FILL(metric, {value:g})",
                "label": f"{self.metric_name}, {value:g} where missing",
                "return_data": True,
            },
        ]

    def create_alarm(
        self,
        context: StackContext,
        name: str,
        *,
        description: str,
        comparison: str,
        threshold: float,
        period: int,
        topic: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        notify_ok: bool = True,
        component: str = "monitoring",
        treat_missing_data: str = "notBreaching",
        fill: float | None = None,
    ) -> aws.cloudwatch.MetricAlarm:
        """``name`` (logical and physical): an enabled alarm on this metric to the stack topic.

        Missing data does not breach by default: the monitoring jobs publish
        nothing for an hour without traffic, SageMaker nothing for a minute
        without requests. A heartbeat alarm passes ``treat_missing_data="breaching"``:
        there, missing data is the signal, and ``fill`` makes each silent period a
        datapoint of that value. ``notify_ok`` also tells the topic when the alarm
        clears.
        """
        metric: dict[str, Any] = (
            {"metric_queries": self.filled_queries(fill, period)}
            if fill is not None
            else {**self.alarm_inputs(), "period": period}
        )
        return aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            alarm_description=description,
            **metric,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data=treat_missing_data,
            actions_enabled=True,
            alarm_actions=[topic],
            ok_actions=[topic] if notify_ok else None,
            tags=context.tags(component),
            opts=opts,
        )
