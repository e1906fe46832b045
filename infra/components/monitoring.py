"""Monitoring: drift alarms on our own metrics, and retraining when they fire.

The drift job (``ml/drift.py``) compares captured traffic with the model's
baseline and ``pipelines/jobs/drift_publish.py`` publishes the result to
``mlops/drift``. Here the alarms watch those metrics with the publisher's own
dimensions, an EventBridge rule asks the retrain gate to start the training
pipeline when the drift alarm enters ALARM (at most once per
``monitoring.retrainCooldownMinutes``). The stack's dashboard is
``infra/components/dashboard.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.notifications import Notifications
from infra.components.retrain_gate import RetrainGate, retrain_on_alarms
from infra.components.serving import ModelEndpoint
from infra.config import Monitoring as MonitoringSettings

DRIFT_NAMESPACE = "mlops/drift"  # the namespace pipelines/jobs/drift_publish.py writes
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
HOUR = 3600


@dataclass(frozen=True)
class RetrainTarget:
    """The pipeline the drift alarm restarts: its ARN and name."""

    arn: pulumi.Output[str]
    name: str


class DriftMonitoring(pulumi.ComponentResource):
    """Drift and pipeline alarms to the stack topic, and retraining on drift."""

    drift_alarm: aws.cloudwatch.MetricAlarm | None
    pipeline_failure_alarm: aws.cloudwatch.MetricAlarm | None

    def __init__(
        self,
        name: str,
        context: StackContext,
        settings: MonitoringSettings,
        notifications: Notifications,
        endpoint: ModelEndpoint | None,
        retrain: RetrainTarget | None,
        retrain_gate: RetrainGate | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:DriftMonitoring", name, None, opts)
        self._context = context
        self._settings = settings
        self._topic = notifications.topic.arn
        self._dead_letters = notifications.dead_letters
        self.drift_alarm = None
        self.drift_warning = None
        self.pipeline_failure_alarm = None
        self.retrain_rule = None
        if endpoint is not None:
            self.drift_warning = self._drift_alarm(
                endpoint.endpoint_name, "warn", settings.psi_warn
            )
            self.drift_alarm = self._drift_alarm(
                endpoint.endpoint_name, "alarm", settings.psi_alarm
            )
        if retrain is not None:
            self.pipeline_failure_alarm = self._pipeline_failure_alarm(retrain)
            if self.drift_alarm is not None and retrain_gate is not None:
                self.retrain_rule = retrain_on_alarms(
                    context,
                    "drift",
                    "Retrain when the drift alarm enters ALARM, at most once per cool-down",
                    [self.drift_alarm],
                    retrain_gate,
                    self._dead_letters,
                    parent=self,
                )
        self.register_outputs(
            {
                "driftAlarmName": self.drift_alarm.name if self.drift_alarm is not None else None,
            }
        )

    @staticmethod
    def drift_dimensions(stack: str, endpoint_name: str) -> dict[str, str]:
        """The dimensions the drift publisher sets (``pipelines.jobs.drift_publish``)."""
        return {"Stack": stack, "Endpoint": endpoint_name}

    def _drift_alarm(
        self, endpoint_name: str, level: str, threshold: float
    ) -> aws.cloudwatch.MetricAlarm:
        context = self._context
        name = context.name("drift", level)
        return aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            alarm_description=(
                f"Largest feature PSI of {endpoint_name}'s traffic against the training baseline "
                f"reached {threshold} ({level})"
            ),
            namespace=DRIFT_NAMESPACE,
            metric_name="MaxPSI",
            dimensions=self.drift_dimensions(context.config.environment.value, endpoint_name),
            statistic="Maximum",
            period=HOUR,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            actions_enabled=True,
            alarm_actions=[self._topic],
            ok_actions=[self._topic],
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pipeline_failure_alarm(self, pipeline: RetrainTarget) -> aws.cloudwatch.MetricAlarm:
        context = self._context
        name = context.name("training", "failed")
        return aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            alarm_description=f"An execution of pipeline {pipeline.name} failed",
            namespace=PIPELINE_NAMESPACE,
            metric_name="ExecutionFailed",
            dimensions={"PipelineName": pipeline.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            actions_enabled=True,
            alarm_actions=[self._topic],
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
