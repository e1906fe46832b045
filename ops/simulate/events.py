"""EventBridge in the simulation: the plan's rules match in the emulator, delivery is at least once.

Events are put on the emulator's default bus, where the plan's rules (put by
``emulated_stack.apply``) match them with moto's rule matcher and send them,
through any planned input transformer, to stand-in queues, one per planned
target. Reading a stand-in queue is a delivery to the real target. EventBridge
delivers "at least once" and in no guaranteed order
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):
here each delivery may be repeated (the same event id, later) and every copy
gets its own delay, so copies of nearby events arrive out of order.

The events are those AWS documents:
"CloudWatch Alarm State Change"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html)
"SageMaker Model Package State Change" and "SageMaker Model Building Pipeline
Execution Status Change"
(https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
A put drains only the stand-ins of rules whose pattern matches the event
(moto's matcher, as the emulator's bus will apply it), to spare the requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from moto.events.models import EventPattern

if TYPE_CHECKING:
    from ops.simulate.clients import SimClients
    from ops.simulate.emulated_stack import StandIn

ALARM_CHANGE = "CloudWatch Alarm State Change"
PACKAGE_CHANGE = "SageMaker Model Package State Change"
EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"


@dataclass(frozen=True)
class Delivery:
    """One copy of an event on its way to one target.

    ``body`` is what the target receives (the event, or what the rule's input
    transformer made of it); ``event`` is the event as it was put.
    """

    at: datetime
    rule: str
    target_arn: str
    body: Any
    event: dict[str, Any]
    copy: int
    retries: int = 0  # Lambda's own retries of a failed asynchronous invocation


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often a delivery repeats and how late copies may arrive."""

    repeat_share: float = 0.5
    max_copies: int = 3
    max_delay: timedelta = timedelta(seconds=90)


def alarm_event(
    region: str,
    account: str,
    alarm: dict[str, Any],
    previous: str,
    state: str,
    reason: str,
    at: datetime,
) -> dict[str, Any]:
    """An alarm's state change as CloudWatch sends it to EventBridge (PutEvents fields)."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    name = alarm["AlarmName"]
    detail = {
        "alarmName": name,
        "state": {"value": state, "reason": reason[:1023], "timestamp": stamp},
        "previousState": {"value": previous, "reason": "", "timestamp": stamp},
        "configuration": {
            "description": alarm.get("AlarmDescription", ""),
            "metrics": _event_metrics(alarm),
        },
    }
    return _entry(
        "aws.cloudwatch",
        ALARM_CHANGE,
        detail,
        [f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"],
        at,
    )


def _event_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The alarm's metrics as the state-change event lists them (camelCase; a metric-math
    alarm's queries each with its id, and an expression or a metricStat)."""
    queries = alarm.get("Metrics") or [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Namespace": alarm.get("Namespace"),
                    "MetricName": alarm.get("MetricName"),
                    "Dimensions": alarm.get("Dimensions", []),
                },
                "Period": alarm.get("Period"),
                "Stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
            },
            "ReturnData": True,
        }
    ]
    metrics = []
    for query in queries:
        item: dict[str, Any] = {"id": query["Id"], "returnData": query.get("ReturnData", True)}
        if "Expression" in query:
            item["expression"] = query["Expression"]
            item["label"] = query.get("Label", "")
        if "MetricStat" in query:
            stat, metric = query["MetricStat"], query["MetricStat"]["Metric"]
            item["metricStat"] = {
                "metric": {
                    "namespace": metric.get("Namespace"),
                    "name": metric.get("MetricName"),
                    "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
                },
                "period": stat.get("Period"),
                "stat": stat.get("Stat"),
            }
        metrics.append(item)
    return metrics


def package_event(package: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A model package's state as SageMaker sends it to EventBridge (PutEvents fields)."""
    detail = {
        key: package[key]
        for key in (
            "ModelPackageGroupName",
            "ModelPackageVersion",
            "ModelPackageArn",
            "ModelPackageDescription",
            "InferenceSpecification",
            "ModelPackageStatus",
            "ModelApprovalStatus",
            "ApprovalDescription",
            "CustomerMetadataProperties",
        )
        if package.get(key) not in (None, "")
    }
    for key in ("CreationTime", "LastModifiedTime"):
        if isinstance(package.get(key), datetime):
            detail[key] = package[key].strftime("%Y-%m-%dT%H:%M:%SZ")
    return _entry("aws.sagemaker", PACKAGE_CHANGE, detail, [package["ModelPackageArn"]], at)


def execution_event(
    execution_arn: str,
    previous: str,
    current: str,
    started: datetime,
    at: datetime,
    description: str = "",
) -> dict[str, Any]:
    """A pipeline execution's status change as SageMaker sends it (PutEvents fields)."""
    pipeline_arn = execution_arn.split("/execution/")[0]
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    detail = {
        "pipelineExecutionDisplayName": execution_arn.rsplit("/", 1)[-1],
        "currentPipelineExecutionStatus": current,
        "previousPipelineExecutionStatus": previous,
        "executionStartTime": started.strftime(stamp),
        "pipelineExecutionDescription": description,
        "pipelineArn": pipeline_arn,
        "pipelineExecutionArn": execution_arn,
    }
    if current != "Executing":
        detail["executionEndTime"] = at.strftime(stamp)
    return _entry("aws.sagemaker", EXECUTION_CHANGE, detail, [pipeline_arn, execution_arn], at)


def _entry(
    source: str, detail_type: str, detail: dict[str, Any], resources: list[str], at: datetime
) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, default=str),
        "Resources": resources,
        "Time": at,
    }


def _envelope(entry: dict[str, Any]) -> dict[str, Any]:
    """A PutEvents entry as a rule sees it (the fields a pattern may name)."""
    return {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "resources": entry["Resources"],
        "detail": json.loads(entry["Detail"]),
    }


class Bus:
    """The default event bus of the emulator, read back through the stand-in queues."""

    def __init__(self, clients: SimClients, policy: DeliveryPolicy, seed: int) -> None:
        self.clients, self.policy = clients, policy
        self.rng = np.random.default_rng(seed)
        self.stand_ins: list[StandIn] = []
        self.put_count = 0

    def put(self, entry: dict[str, Any], now: datetime) -> list[Delivery]:
        """Put one event; the deliveries its matching rules make, each copy with its delay."""
        self.clients.events.put_events(Entries=[entry])
        self.put_count += 1
        deliveries = []
        envelope: Any = _envelope(entry)
        for stand_in in self.stand_ins:
            if not EventPattern.load(stand_in.pattern).matches_event(envelope):
                continue
            for body in self._drain(stand_in.queue_url):
                for copy in range(self._copies()):
                    delay = self.rng.uniform(0, self.policy.max_delay.total_seconds())
                    deliveries.append(
                        Delivery(
                            now + timedelta(seconds=delay),
                            stand_in.rule,
                            stand_in.target_arn,
                            body,
                            envelope,
                            copy,
                        )
                    )
        return deliveries

    def _copies(self) -> int:
        copies = 1
        while copies < self.policy.max_copies and self.rng.random() < self.policy.repeat_share:
            copies += 1
        return copies

    def _drain(self, queue_url: str) -> list[Any]:
        bodies: list[Any] = []
        while True:
            received = self.clients.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return bodies
            for message in received:
                bodies.append(json.loads(message["Body"]))
                self.clients.sqs.delete_message(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
