"""Drift alarms: the largest feature PSI at warn and alarm, each feature's PSI, the flag rate.

The monitoring pipeline's drift job publishes ``mlops/drift``
(``pipelines.metrics``); the alarms watch it through
``MonitoringPipeline.metric_drift()``, as the quality alarms watch
``metric_quality()``, so they exist exactly where something publishes. Each
alarm needs ``monitoring.alarmDatapoints`` breaching windows out of the last
``monitoring.alarmPeriods`` (M of N), so one odd hour does not page anyone.
A window without traffic or with too few rows publishes no PSI, and missing
data does not breach: an idle endpoint is not drift, and a job that stops
running is watched by its own alarm. An EventBridge rule asks the retrain gate
to start the training pipeline when the alarm level enters ALARM (at most
once per ``monitoring.retrainCooldownMinutes``).

One alarm per feature (``-drift-feature-<feature>``, the feature's own PSI at
the alarm level) asks the gate too: the largest PSI stays in ALARM as long as
one feature has moved, so without them a second change (a new fraud pattern
weeks after a price rise) would enter no state and start nothing. They also
name the feature in the page. The flag-rate alarm (the
share of traffic the model flags moved beyond ``monitoring.flagRateTolerance``
against the same clock hour of earlier days, with z at least
``monitoring.alarmZ``) tells people: a wave of fraud moves it as much as a
broken model does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import FORMER_DRIFT_MONITORING, StackContext
from infra.components.metric import HOUR, Metric
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.components.retrain_gate import RetrainGate
from infra.config import Monitoring as MonitoringSettings
from ml import schema
from pipelines import metrics


@dataclass(frozen=True)
class DriftAlarmsArgs:
    """The PSI levels, the pipeline whose drift job publishes, who hears, who retrains."""

    settings: MonitoringSettings
    monitoring: MonitoringPipeline
    topic: aws.sns.Topic
    retrain: RetrainGate | None = None


class DriftAlarms(pulumi.ComponentResource):
    """``<prefix>-<env>-drift-warn``, ``-drift-alarm`` and ``-drift-feature-<feature>``
    (retrain), and ``-drift-flag-rate``."""

    warning: aws.cloudwatch.MetricAlarm
    alarm: aws.cloudwatch.MetricAlarm
    features: dict[str, aws.cloudwatch.MetricAlarm]
    flag_rate: aws.cloudwatch.MetricAlarm | None
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
        monitoring = args.monitoring
        psi = f"Largest feature PSI of {monitoring.endpoint_name}'s traffic against the training"
        self.warning = self._alarm(
            "warn", monitoring.metric_drift(), args.settings.psi_warn, f"{psi} baseline", moved
        )
        self.alarm = self._alarm(
            "alarm", monitoring.metric_drift(), args.settings.psi_alarm, f"{psi} baseline", moved
        )
        self.features = {
            feature: self._alarm(
                f"feature-{feature.replace('_', '-')}",
                monitoring.metric_drift(metrics.FEATURE_PSI, feature),
                args.settings.psi_alarm,
                f"PSI of {feature} in {monitoring.endpoint_name}'s traffic against the training "
                "baseline",
                pulumi.ResourceOptions(parent=self),
            )
            for feature in schema.FEATURE_COLUMNS
        }
        self.flag_rate = (
            self._alarm(
                "flag-rate",
                monitoring.metric_drift(metrics.FLAG_RATE_CHANGE_Z),
                monitoring.alarm_evidence.z,
                f"The share of {monitoring.endpoint_name}'s traffic the model flags moved more "
                f"than {args.settings.flag_rate_tolerance:g}x from the same hour of earlier "
                "days; z",
                pulumi.ResourceOptions(parent=self),
            )
            if args.settings.score_reference_days
            else None
        )
        self.retrain_rule = (
            args.retrain.retrain_on(
                "drift",
                "Retrain when the drift alarm or a feature's drift alarm enters ALARM, at most "
                "once per cool-down",
                [self.alarm, *self.features.values()],
                parent=self,
                aliases=moved.aliases,
            )
            if args.retrain is not None
            else None
        )
        self.register_outputs({"driftAlarmName": self.alarm.name})

    def _alarm(
        self,
        level: str,
        metric: Metric,
        threshold: float,
        what: str,
        opts: pulumi.ResourceOptions,
    ) -> aws.cloudwatch.MetricAlarm:
        evidence = self._args.monitoring.alarm_evidence
        return metric.create_alarm(
            self._context,
            self._context.name("drift", level),
            description=(
                f"{what} reached {threshold:g} in {evidence.datapoints} of the last "
                f"{evidence.periods} hourly windows ({level})"
            ),
            comparison="GreaterThanOrEqualToThreshold",
            threshold=threshold,
            period=HOUR,
            evaluation_periods=evidence.periods,
            datapoints_to_alarm=evidence.datapoints,
            topic=self._args.topic.arn,
            opts=opts,
        )
