"""Drift alarms: the drift job's largest feature PSI at warn and alarm, and retraining on alarm.

The monitoring pipeline's drift job publishes ``mlops/drift``
(``pipelines.metrics``); the alarms watch it through
``MonitoringPipeline.metric_drift()``, as the quality alarms watch
``metric_quality()``, so they exist exactly where something publishes. An
EventBridge rule asks the retrain gate to start the training pipeline when the
alarm level enters ALARM (at most once per ``monitoring.retrainCooldownMinutes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import FORMER_DRIFT_MONITORING, StackContext
from infra.components.metric import HOUR
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.components.retrain_gate import RetrainGate
from infra.config import Monitoring as MonitoringSettings


@dataclass(frozen=True)
class DriftAlarmsArgs:
    """The PSI levels, the pipeline whose drift job publishes, who hears, who retrains."""

    settings: MonitoringSettings
    monitoring: MonitoringPipeline
    topic: aws.sns.Topic
    retrain: RetrainGate | None = None


class DriftAlarms(pulumi.ComponentResource):
    """``<prefix>-<env>-drift-warn`` and ``-drift-alarm`` to the topic; the latter retrains."""

    warning: aws.cloudwatch.MetricAlarm
    alarm: aws.cloudwatch.MetricAlarm
    retrain_rule: aws.cloudwatch.EventRule | None

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: DriftAlarmsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:DriftAlarms", name, None, opts)
        self._context = context
        self._args = args
        moved = pulumi.ResourceOptions(
            parent=self,
            aliases=[context.moved_from(FORMER_DRIFT_MONITORING)],
        )
        self.warning = self._alarm("warn", args.settings.psi_warn, moved)
        self.alarm = self._alarm("alarm", args.settings.psi_alarm, moved)
        self.retrain_rule = (
            args.retrain.retrain_on(
                "drift",
                "Retrain when the drift alarm enters ALARM, at most once per cool-down",
                [self.alarm],
                parent=self,
                aliases=moved.aliases,
            )
            if args.retrain is not None
            else None
        )
        self.register_outputs({"driftAlarmName": self.alarm.name})

    def _alarm(
        self, level: str, threshold: float, opts: pulumi.ResourceOptions
    ) -> aws.cloudwatch.MetricAlarm:
        context, monitoring, topic = self._context, self._args.monitoring, self._args.topic.arn
        name = context.name("drift", level)
        return monitoring.metric_drift().create_alarm(
            context,
            name,
            description=(
                f"Largest feature PSI of {monitoring.endpoint_name}'s traffic against the "
                f"training baseline reached {threshold} ({level})"
            ),
            comparison="GreaterThanOrEqualToThreshold",
            threshold=threshold,
            period=HOUR,
            topic=topic,
            opts=opts,
        )
