"""Every EventBridge rule of a plan, matched against the events AWS documents.

AWS publishes sample events for the kinds this platform reacts to: an alarm's
state change, a model package's state change, a pipeline execution's status
change (``events/*.json``, each with its documentation page). Each sample is
made this stack's: for each of its alarms, groups and pipelines, and each
state they can be in; and someone else's: the same kinds from resources of
no stack here. A rule must match at least one event of its own stack and
kind, and none of another kind or of another owner. The matcher is moto's
implementation of EventBridge's pattern rules (moto has no TestEventPattern).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from infra.plan.checkov import CheckResult, Status
from infra.plan.tfplan import resource_addresses

if TYPE_CHECKING:
    from infra.plan.engine import Plan

SOURCE = "validator:events"
RULE = "aws:cloudwatch/eventRule:EventRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ALARM_KIND = "alarm_state_change"
PACKAGE_KIND = "model_package_state_change"
PIPELINE_KIND = "pipeline_execution_status_change"
STATES = {
    ALARM_KIND: ("ALARM", "OK", "INSUFFICIENT_DATA"),
    PACKAGE_KIND: ("Approved", "Rejected", "PendingManualApproval"),
    PIPELINE_KIND: ("Executing", "Succeeded", "Failed", "Stopped"),
}
FOREIGN = "someone-elses"  # a resource name of no stack of this platform
CHECKS = {
    "EVENTS_MATCHES_ITS_EVENT": "The rule matches a documented event of its own stack",
    "EVENTS_MATCHES_NO_OTHER": "The rule matches no event of another kind or owner",
}


@dataclass(frozen=True)
class Event:
    """One instance of a documented sample: its kind, whose it is, and the event."""

    kind: str
    own: bool
    label: str
    body: dict[str, Any]


@cache
def sample(kind: str) -> dict[str, Any]:
    """AWS's documented sample event of ``kind`` (``events/<kind>.json``)."""
    text = resources.files(__package__).joinpath("events", f"{kind}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)["event"]
    return document


def _event(kind: str, region: str, account: str, arn: str, name: str, state: str) -> dict[str, Any]:
    event = copy.deepcopy(sample(kind))
    event.update(region=region, account=account, resources=[arn])
    detail = event["detail"]
    if kind == ALARM_KIND:
        detail["alarmName"] = name
        detail["state"]["value"] = state
    elif kind == PACKAGE_KIND:
        detail.update(ModelPackageGroupName=name, ModelPackageArn=arn, ModelApprovalStatus=state)
    else:
        detail.update(pipelineArn=arn, currentPipelineExecutionStatus=state)
        event["resources"] = [arn, f"{arn}/execution/p4jn9xou8a8s"]
    return event


def stack_events(plan: Plan) -> list[Event]:
    """Every documented kind, for each alarm, group and pipeline of the stack and a foreign one."""
    region, account = plan.config.region, "123456789012"
    owners = {
        ALARM_KIND: [(r["outputs"]["arn"], r["inputs"]["name"]) for r in plan.of_type(ALARM)],
        PACKAGE_KIND: [
            (
                r["outputs"]["arn"].replace("-group/", "/") + "/1",
                r["inputs"]["modelPackageGroupName"],
            )
            for r in plan.of_type(GROUP)
        ],
        PIPELINE_KIND: [
            (r["outputs"]["arn"], r["inputs"]["pipelineName"]) for r in plan.of_type(PIPELINE)
        ],
    }
    foreign = {
        ALARM_KIND: f"arn:aws:cloudwatch:{region}:{account}:alarm:{FOREIGN}",
        PACKAGE_KIND: f"arn:aws:sagemaker:{region}:{account}:model-package/{FOREIGN}/1",
        PIPELINE_KIND: f"arn:aws:sagemaker:{region}:{account}:pipeline/{FOREIGN}",
    }
    events: list[Event] = []
    for kind, states in STATES.items():
        for state in states:
            for arn, name in owners[kind]:
                body = _event(kind, region, account, arn, name, state)
                events.append(Event(kind, True, f"{kind} {name} {state}", body))
            body = _event(kind, region, account, foreign[kind], FOREIGN, state)
            events.append(Event(kind, False, f"{kind} {FOREIGN} {state}", body))
    return events


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """EventBridge's matching of ``event`` by ``pattern``, as moto implements it."""
    from moto.events.models import EventPattern, EventPatternParser

    parsed = EventPatternParser(pattern).parse()
    return bool(EventPattern(pattern, parsed).matches_event(event))  # type: ignore[arg-type]


def _kind_of(pattern: dict[str, Any]) -> str | None:
    for kind in STATES:
        documented = sample(kind)
        if documented["source"] in pattern.get("source", []) and documented[
            "detail-type"
        ] in pattern.get("detail-type", []):
            return kind
    return None


def check_rules(plan: Plan) -> tuple[list[CheckResult], int]:
    """The two checks per rule with a pattern, and how many (rule, event) pairs were matched."""
    addresses = resource_addresses(plan)
    events = stack_events(plan)
    results: list[CheckResult] = []
    pairs = 0
    for rule in plan.of_type(RULE):
        pattern = rule["inputs"].get("eventPattern")
        if not pattern:
            continue
        kind = _kind_of(json.loads(pattern))
        matched = [event for event in events if matches(pattern, event.body)]
        pairs += len(events)
        own = [e for e in matched if e.kind == kind and e.own]
        other = [e.label for e in matched if e.kind != kind or not e.own]
        address = addresses.get(rule["urn"], rule["name"])
        missing = "" if own else f"no documented event of its kind ({kind or 'none'}) of this stack"
        for check_id, problem in (
            ("EVENTS_MATCHES_ITS_EVENT", missing),
            ("EVENTS_MATCHES_NO_OTHER", f"also matches: {', '.join(other)}" if other else ""),
        ):
            status: Status = "failed" if problem else "passed"
            results.append(
                CheckResult(
                    SOURCE, check_id, CHECKS[check_id], address, "eventPattern", status, problem
                )
            )
    return results, pairs
