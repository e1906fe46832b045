"""Endpoint metrics ready for alarms, and the alarms that roll a deployment back.

SageMaker publishes invocation metrics (``AWS/SageMaker``) per endpoint and
variant, and also per endpoint configuration: an alarm that adds the
``EndpointConfigName`` dimension watches only the fleet a deployment is
bringing up, so a problem of the old fleet never rolls back a good model.
Utilization metrics (``/aws/sagemaker/Endpoints``) carry no configuration
dimension and watch the whole variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.metric import Metric
from infra.config import RollbackAlarms

INVOCATION_NAMESPACE = "AWS/SageMaker"
UTILIZATION_NAMESPACE = "/aws/sagemaker/Endpoints"
MICROSECONDS_PER_MILLISECOND = 1000


@dataclass(frozen=True)
class EndpointMetrics:
    """Metric factory for one endpoint variant; ``config_name`` selects the new fleet."""

    endpoint_name: pulumi.Input[str]
    variant_name: str
    config_name: pulumi.Input[str]

    def _dimensions(self, new_fleet_only: bool) -> dict[str, pulumi.Input[str]]:
        dimensions: dict[str, pulumi.Input[str]] = {
            "EndpointName": self.endpoint_name,
            "VariantName": self.variant_name,
        }
        if new_fleet_only:
            dimensions["EndpointConfigName"] = self.config_name
        return dimensions

    def errors_5xx(self, new_fleet_only: bool = True) -> Metric:
        return Metric(
            INVOCATION_NAMESPACE,
            "Invocation5XXErrors",
            self._dimensions(new_fleet_only),
            statistic="Sum",
        )

    def latency_p99(self, new_fleet_only: bool = True) -> Metric:
        """Model latency, p99, in microseconds (SageMaker's unit for it)."""
        return self.model_latency("p99", new_fleet_only)

    def model_latency(self, statistic: str, new_fleet_only: bool = False) -> Metric:
        """Model latency in microseconds; ``statistic`` is ``Average`` or a percentile (``p99``)."""
        percentile = statistic.startswith("p")
        return Metric(
            INVOCATION_NAMESPACE,
            "ModelLatency",
            self._dimensions(new_fleet_only),
            statistic=None if percentile else statistic,
            extended_statistic=statistic if percentile else None,
            unit="Microseconds",
        )

    def invocations(self, new_fleet_only: bool = False) -> Metric:
        return Metric(
            INVOCATION_NAMESPACE,
            "Invocations",
            self._dimensions(new_fleet_only),
            statistic="Sum",
        )

    def invocations_per_instance(self, new_fleet_only: bool = False) -> Metric:
        return Metric(
            INVOCATION_NAMESPACE,
            "InvocationsPerInstance",
            self._dimensions(new_fleet_only),
            statistic="Sum",
        )

    def memory_utilization(self) -> Metric:
        """Memory of the variant's instances, both fleets (no per-config dimension exists)."""
        return Metric(
            UTILIZATION_NAMESPACE,
            "MemoryUtilization",
            self._dimensions(new_fleet_only=False),
            statistic="Average",
            unit="Percent",
        )


@dataclass(frozen=True)
class AlarmSpec:
    """What one rollback alarm compares, and why it exists."""

    suffix: str
    metric: Metric
    threshold: float
    comparison: str
    description: str
    # Breaching periods of the evaluation window that alarm; None: every one of them.
    datapoints: int | None = None


@dataclass
class RollbackAlarmSet:
    """The alarms SageMaker watches while it shifts traffic; all notify the stack topic."""

    alarms: list[aws.cloudwatch.MetricAlarm] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @property
    def arns(self) -> list[pulumi.Output[str]]:
        return [alarm.arn for alarm in self.alarms]


def rollback_alarm_specs(metrics: EndpointMetrics, settings: RollbackAlarms) -> list[AlarmSpec]:
    """5xx errors and p99 latency of the new fleet, and memory of the variant."""
    return [
        AlarmSpec(
            "5xx",
            metrics.errors_5xx(new_fleet_only=True),
            settings.error_5xx_threshold,
            "GreaterThanOrEqualToThreshold",
            "Server errors on the fleet being deployed: SageMaker rolls the deployment back.",
            # A healthy fleet answers no 5xx, and a canary's tenth of the traffic may show a
            # failing fleet's errors in one minute of two: one minute with errors is enough.
            datapoints=1,
        ),
        AlarmSpec(
            "latency-p99",
            metrics.latency_p99(new_fleet_only=True),
            settings.latency_p99_ms * MICROSECONDS_PER_MILLISECOND,
            "GreaterThanThreshold",
            f"p99 model latency above {settings.latency_p99_ms} ms on the fleet being deployed.",
        ),
        AlarmSpec(
            "memory",
            metrics.memory_utilization(),
            settings.memory_utilization_percent,
            "GreaterThanThreshold",
            f"Memory above {settings.memory_utilization_percent}% on the variant's instances.",
        ),
    ]


def create_rollback_alarms(
    context: StackContext,
    metrics: EndpointMetrics,
    settings: RollbackAlarms,
    topic: aws.sns.Topic,
    parent: pulumi.Resource,
) -> RollbackAlarmSet:
    """One enabled alarm per spec, named ``<prefix>-<env>-endpoint-<suffix>``."""
    result = RollbackAlarmSet()
    for spec in rollback_alarm_specs(metrics, settings):
        name = context.name("endpoint", spec.suffix)
        alarm = spec.metric.create_alarm(
            context,
            name,
            description=spec.description,
            comparison=spec.comparison,
            threshold=spec.threshold,
            period=settings.period_seconds,
            topic=topic.arn,
            opts=pulumi.ResourceOptions(parent=parent),
            evaluation_periods=settings.evaluation_periods,
            datapoints_to_alarm=spec.datapoints or settings.evaluation_periods,
            component="serving",
        )
        result.alarms.append(alarm)
        result.names.append(name)
    return result
