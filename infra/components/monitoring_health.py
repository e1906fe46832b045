"""Monitoring that cannot fail silently: a failed monitoring run and a stale job both alarm.

The drift and quality alarms treat a missing hour as fine (an hour without
traffic publishes nothing), so by themselves they look healthy when the jobs
that feed them stopped. This component adds, where the monitoring pipeline
exists:

- ``<prefix>-<env>-monitoring-failed``: an EventBridge rule on SageMaker's
  "SageMaker Model Building Pipeline Execution Status Change" events of the
  monitoring pipeline entering ``Failed``, delivered to the stack topic (each
  failure, at once, with the execution's ARN). Event shape:
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
- ``<prefix>-<env>-monitoring-<job>-stale`` per job (drift, and quality and
  feedback where on): the job's heartbeat (``mlops/monitoring`` ``RowsRead``,
  which every run that ends well sends, even for an empty window) counted per
  schedule period as ``FILL(heartbeat, 0)``, so ``monitoring.staleAfterPeriods``
  periods without one put it in ALARM from the first silent period (missing data
  alone would count only past CloudWatch's evaluation range, two periods later:
  "How alarm state is evaluated when data is missing",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html);
  missing data still breaches, for a job that never sent one. It clears with the
  next heartbeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.dead_letters import DeadLetterQueue
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.config import Monitoring as MonitoringSettings

PIPELINE_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
TARGET_RETRY_POLICY = {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10}


@dataclass(frozen=True)
class MonitoringHealthArgs:
    """The monitoring pipeline watched, how many silent periods alarm, who hears."""

    settings: MonitoringSettings
    monitoring: MonitoringPipeline
    topic: aws.sns.Topic
    dead_letters: DeadLetterQueue


class MonitoringHealth(pulumi.ComponentResource):
    """The failed-run rule and one staleness alarm per monitoring job."""

    failure_rule: aws.cloudwatch.EventRule
    stale_alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: MonitoringHealthArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:MonitoringHealth", name, None, opts)
        self._context = context
        self._args = args
        self.failure_rule = self._failure_rule()
        self.stale_alarms = {job: self._stale_alarm(job) for job in args.monitoring.jobs}
        self.register_outputs(
            {
                "failureRuleName": self.failure_rule.name,
                "staleAlarmNames": [alarm.name for alarm in self.stale_alarms.values()],
            }
        )

    def _failure_rule(self) -> aws.cloudwatch.EventRule:
        context, monitoring = self._context, self._args.monitoring
        name = context.name("monitoring", "failed")
        rule = aws.cloudwatch.EventRule(
            name,
            name=name,
            description=f"An execution of {monitoring.pipeline_name} failed",
            event_pattern=failure_pattern(monitoring.pipeline.arn),
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-to-topic",
            rule=rule.name,
            target_id="topic",
            arn=self._args.topic.arn,
            input_transformer={
                "input_paths": {
                    "execution": "$.detail.pipelineExecutionArn",
                    "time": "$.time",
                },
                "input_template": (
                    f'"Monitoring pipeline {monitoring.pipeline_name} failed at <time>: '
                    'execution <execution>. Drift, quality and feedback may be stale."'
                ),
            },
            dead_letter_config=self._args.dead_letters.for_rule(rule),
            retry_policy=TARGET_RETRY_POLICY,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return rule

    def _stale_alarm(self, job: str) -> aws.cloudwatch.MetricAlarm:
        context, monitoring, settings = self._context, self._args.monitoring, self._args.settings
        periods, period = settings.stale_after_periods, settings.heartbeat_period_seconds
        return monitoring.metric_heartbeat(job).create_alarm(
            context,
            context.name("monitoring", job, "stale"),
            description=(
                f"No {job} run of {monitoring.pipeline_name} ended well in {periods} "
                f"period(s) of {period} s: its metrics, and the alarms on them, are stale"
            ),
            comparison="LessThanThreshold",
            threshold=1,
            period=period,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            topic=self._args.topic.arn,
            opts=pulumi.ResourceOptions(parent=self),
            treat_missing_data="breaching",
            fill=0,
        )


def failure_pattern(pipeline_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The monitoring pipeline's executions entering ``Failed``, and nothing else."""
    return pulumi.Output.from_input(pipeline_arn).apply(
        lambda arn: json.dumps(
            {
                "source": ["aws.sagemaker"],
                "detail-type": [PIPELINE_STATUS_CHANGE],
                "detail": {"currentPipelineExecutionStatus": ["Failed"], "pipelineArn": [arn]},
            }
        )
    )
