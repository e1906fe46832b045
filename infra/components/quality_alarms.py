"""Model quality alarms: recall or precision dropped from the evaluation, a category fell behind.

They watch the quality job's z values through ``MonitoringPipeline.metric_quality``
(the publisher's own names and dimensions): how surely recall and precision
of the mature, labelled cohort fell below the serving model's own evaluated
values, and how surely a merchant category's recall fell behind the others
more than it did in the evaluation (the bias signal). A fixed floor near the
model's true value fires on noise, and a raw recall gap between categories is
already large for a healthy model; a test of change from the evaluation does
neither. Each alarm needs ``monitoring.alarmDatapoints`` of the last
``monitoring.alarmPeriods`` hourly runs at z >= ``monitoring.alarmZ``. The
job publishes nothing it cannot support (too few frauds or labels), and
missing data does not breach; a job that stops running is watched by its own
alarm. The drop alarms notify the stack topic and start retraining like the
drift alarm does, through the same cool-down gate (one run per cool-down,
whichever alarm fired): a model that misses fraud it used to catch is
retrained on the newer data. The bias alarm notifies people only, because
retraining on the same data does not close a gap by itself.
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
    """One alarm: its name part, the z metric it watches, whether it retrains, what it means."""

    part: str
    metric: str
    retrains: bool
    description: str


QUALITY_ALARMS = (
    QualityAlarm(
        "recall",
        metrics.RECALL_DROP_Z,
        True,
        "Recall of the labelled cohort fell below the serving model's evaluated recall",
    ),
    QualityAlarm(
        "precision",
        metrics.PRECISION_DROP_Z,
        True,
        "Precision of the labelled cohort fell below the serving model's evaluated precision",
    ),
    QualityAlarm(
        "recall-gap",
        metrics.SEGMENT_RECALL_DROP_Z,
        False,
        "A merchant category's recall fell behind the other categories' by more than it did "
        "in the serving model's evaluation",
    ),
)


@dataclass(frozen=True)
class QualityAlarmsArgs:
    """The quality settings, the pipeline whose quality job publishes, who hears, who retrains."""

    settings: Quality
    monitoring: MonitoringPipeline
    topic: aws.sns.Topic
    retrain: RetrainGate | None = None


class QualityAlarms(pulumi.ComponentResource):
    """Quality and bias alarms to the stack topic; the drop alarms also start retraining."""

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
        self.alarms = {spec.part: self._alarm(spec) for spec in QUALITY_ALARMS}
        retraining = [self.alarms[spec.part] for spec in QUALITY_ALARMS if spec.retrains]
        self.retrain_rule = (
            args.retrain.retrain_on(
                "quality",
                "Retrain when a quality drop alarm enters ALARM, once per cool-down",
                retraining,
                parent=self,
            )
            if args.retrain is not None and retraining
            else None
        )
        self.register_outputs({"qualityAlarmNames": [a.name for a in self.alarms.values()]})

    def _alarm(self, spec: QualityAlarm) -> aws.cloudwatch.MetricAlarm:
        context, monitoring, topic = self._context, self._args.monitoring, self._args.topic.arn
        evidence = monitoring.alarm_evidence
        return monitoring.metric_quality(spec.metric).create_alarm(
            context,
            context.name("quality", spec.part),
            description=(
                f"{spec.description} on {monitoring.endpoint_name}: z >= {evidence.z:g} in "
                f"{evidence.datapoints} of the last {evidence.periods} runs"
            ),
            comparison="GreaterThanOrEqualToThreshold",
            threshold=evidence.z,
            period=HOUR,
            evaluation_periods=evidence.periods,
            datapoints_to_alarm=evidence.datapoints,
            topic=topic,
            opts=pulumi.ResourceOptions(parent=self),
        )
