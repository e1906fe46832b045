"""An alarm state change delivered through the plan's retrain rule to the gate, in moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.plan.engine import Plan


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=url)


def alarm_state_change(cloudwatch: Any, name: str) -> dict[str, Any]:
    """The event CloudWatch sends on a state change, from the alarm as moto holds it.

    Shape: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    """
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Resources": [alarm["AlarmArn"]],
        "Detail": json.dumps(
            {
                "alarmName": name,
                "state": {"value": alarm["StateValue"], "reason": alarm["StateReason"]},
                "previousState": {"value": "OK"},
            }
        ),
    }


def retrain_runs(
    url: str, plan: Plan, deliveries: int, alarm: str, rule_name: str = "drift"
) -> tuple[list[bool], int]:
    """Deliver ``alarm``'s state change ``deliveries`` times through the plan's retrain rule.

    moto's EventBridge matches the plan's own pattern; a queue stands in for the gate function
    (moto runs no Lambda code without Docker), and each delivered event is handed to the gate's
    handler logic with the plan's settings and lease table. Returns the gate's decisions and the
    executions started.
    """
    from ops.local.gate_emulation import emulate_gate
    from pipelines.lambdas.retrain_gate import handle_alarm

    events, sqs = _client("events", url), _client("sqs", url)
    sagemaker = _client("sagemaker", url)
    training = plan.one("aws:sagemaker/pipeline:Pipeline", "mlops-prod-training")["inputs"]
    sagemaker.create_pipeline(
        PipelineName=training["pipelineName"],
        PipelineDefinition=training["pipelineDefinition"],
        RoleArn=training["roleArn"],
    )
    rule = plan.one("aws:cloudwatch/eventRule:EventRule", f"mlops-prod-retrain-on-{rule_name}")[
        "inputs"
    ]
    dynamodb = _client("dynamodb", url)
    settings = emulate_gate(dynamodb, plan)
    queue = sqs.create_queue(QueueName="retrain-gate-invocations")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name=rule["name"], EventPattern=rule["eventPattern"])
    events.put_targets(
        Rule=rule["name"],
        Targets=[{"Id": "gate", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    for _ in range(deliveries):  # EventBridge delivers at least once: duplicates happen
        events.put_events(Entries=[alarm_state_change(_client("cloudwatch", url), alarm)])
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    decisions = [
        handle_alarm(
            json.loads(message["Body"]),
            settings,
            sagemaker=sagemaker,
            dynamodb=dynamodb,
            now=datetime.now(UTC),
        ).started
        for message in received.get("Messages", [])
    ]
    started = sagemaker.list_pipeline_executions(PipelineName=training["pipelineName"])
    return decisions, len(started["PipelineExecutionSummaries"])
