"""Pipeline alarms: the stack topic hears when an execution of the training pipeline fails.

The metric is SageMaker's own, reached through ``TrainingPipeline.metric_executions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import FORMER_DRIFT_MONITORING, StackContext
from infra.components.pipeline import TrainingPipeline

FAILURE_PERIOD = 300


@dataclass(frozen=True)
class PipelineAlarmsArgs:
    """The pipeline whose executions are watched, and the topic that hears of failures."""

    pipeline: TrainingPipeline
    topic: aws.sns.Topic


class PipelineAlarms(pulumi.ComponentResource):
    """``<prefix>-<env>-training-failed``: any failed execution, to the stack topic."""

    failure_alarm: aws.cloudwatch.MetricAlarm

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: PipelineAlarmsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:PipelineAlarms", name, None, opts)
        pipeline = args.pipeline
        self.failure_alarm = pipeline.metric_executions("ExecutionFailed").create_alarm(
            context,
            context.name("training", "failed"),
            description=f"An execution of pipeline {pipeline.pipeline_name} failed",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=FAILURE_PERIOD,
            topic=args.topic.arn,
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[context.moved_from(FORMER_DRIFT_MONITORING)],
            ),
            notify_ok=False,  # a failed run is an event, not a state that clears
        )
        self.register_outputs({"failureAlarmName": self.failure_alarm.name})
