"""Model quality alarms: precision, recall and PR AUC below their floors, recall gap above its cap.

They watch the quality job's metrics through ``MonitoringPipeline.metric_quality``
(the publisher's own names and dimensions), notify the stack topic, and the
floor alarms start retraining like the drift alarm does, through the same
cool-down gate (one run per cool-down, whichever alarm fired): a model that
misses fraud it used to catch is retrained on the newer data. The recall
gap between merchant categories (the bias signal) notifies people only,
because retraining on the same data does not close it by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.metric import HOUR
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.components.retrain_gate import RetrainGate
from infra.config import Quality
from pipelines import metrics


@dataclass(frozen=True)
class QualityAlarm:
    """One alarm: its name part, metric, comparison and the config value it compares with."""

    part: str
    metric: str
    comparison: str
    threshold: float
    retrains: bool
    description: str


def quality_alarm_specs(settings: Quality) -> list[QualityAlarm]:
    """The quality alarms a stack gets, from ``monitoring.quality``."""
    return [
        QualityAlarm(
            "recall",
            metrics.RECALL,
            "LessThanThreshold",
            settings.min_recall,
            True,
            "Recall of labelled traffic fell below monitoring.quality.minRecall",
        ),
        QualityAlarm(
            "precision",
            metrics.PRECISION,
            "LessThanThreshold",
            settings.min_precision,
            True,
            "Precision of labelled traffic fell below monitoring.quality.minPrecision",
        ),
        QualityAlarm(
            "pr-auc",
            metrics.PR_AUC,
            "LessThanThreshold",
            settings.min_pr_auc,
            True,
            "PR AUC of labelled traffic fell below monitoring.quality.minPrAuc",
        ),
        QualityAlarm(
            "recall-gap",
            metrics.RECALL_GAP,
            "GreaterThanThreshold",
            settings.max_recall_gap,
            False,
            "Recall differs between merchant categories by more than "
            "monitoring.quality.maxRecallGap",
        ),
    ]


@dataclass(frozen=True)
class QualityAlarmsArgs:
    """The floors and cap, the pipeline whose quality job publishes, who hears, who retrains."""

    settings: Quality
    monitoring: MonitoringPipeline
    topic: aws.sns.Topic
    retrain: RetrainGate | None = None


class QualityAlarms(pulumi.ComponentResource):
    """Quality and bias alarms to the stack topic; the floor alarms also start retraining."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    retrain_rule: aws.cloudwatch.EventRule | None

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: QualityAlarmsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:QualityAlarms", name, None, opts)
        self._context = context
        self._args = args
        specs = quality_alarm_specs(args.settings)
        self.alarms = {spec.part: self._alarm(spec) for spec in specs}
        retraining = [self.alarms[spec.part] for spec in specs if spec.retrains]
        self.retrain_rule = (
            args.retrain.retrain_on(
                "quality",
                "Retrain when a quality floor alarm enters ALARM, once per cool-down",
                retraining,
                parent=self,
            )
            if args.retrain is not None and retraining
            else None
        )
        self.register_outputs({"qualityAlarmNames": [a.name for a in self.alarms.values()]})

    def _alarm(self, spec: QualityAlarm) -> aws.cloudwatch.MetricAlarm:
        context, monitoring, topic = self._context, self._args.monitoring, self._args.topic.arn
        name = context.name("quality", spec.part)
        # The job publishes nothing when there is no traffic or too few labels.
        return monitoring.metric_quality(spec.metric).create_alarm(
            context,
            name,
            description=f"{spec.description} ({spec.threshold}) on {monitoring.endpoint_name}",
            comparison=spec.comparison,
            threshold=spec.threshold,
            period=HOUR,
            topic=topic,
            opts=pulumi.ResourceOptions(parent=self),
        )
