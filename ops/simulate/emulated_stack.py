"""The simulated stack: its stack file, its plan, and the plan applied to the emulator.

The stack file lives in the simulation's work directory (a copy of
``environments/Pulumi.<stack>.yaml`` with the scenario's settings written into
it through the same YAML round trip the release commands use), so the
delivery path edits it as it edits the repository's. ``pulumi up`` is, in the
simulation, ``synthesize`` (the offline plan of the program) followed by
``apply``: what the plan holds that the emulator can hold is created or
updated there (buckets with their versioning, key, registry group, feature
group, the retrain gate's lease table, both pipelines with their planned
definitions, every metric alarm with its planned definition, every EventBridge
rule with stand-in targets), and the rest (schedules, the endpoint's rollout,
the Lambda functions) is handed to the parts of the simulation that play them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config.atomic import write_atomically
from ops.local.alarm_evaluation import alarm_parameters

if TYPE_CHECKING:
    from infra.config import StackConfig
    from infra.plan.engine import Plan
    from ops.simulate.clients import SimClients

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
FUNCTION = "aws:lambda/function:Function"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
STAND_IN_PREFIX = "sim-target-"
# The approval rule's target is GitHub's repository dispatch (infra/components/delivery.py),
# which the simulation plays; the token is a secret as ``pulumi config set --secret`` writes it
# (its ciphertext; the offline plan never decrypts it).
GITHUB_DELIVERY = ("delivery.github.repository=simulated/mlops",)
GITHUB_TOKEN = {"mlops:githubToken": {"secure": "v1:c2ltdWxhdGVkIHRva2Vu"}}


@dataclass(frozen=True)
class PlannedSchedule:
    """A schedule as Scheduler holds it: expression, zone, target and its parameters."""

    name: str
    expression: str
    timezone: str
    target_arn: str
    parameters: dict[str, str]
    enabled: bool
    input: str | None = None  # the JSON a Lambda function target receives


@dataclass(frozen=True)
class StandIn:
    """An SQS queue in the emulator that receives what a rule sends to a real target."""

    rule: str
    target_arn: str
    queue_url: str
    pattern: str


@dataclass
class Applied:
    """What the last ``apply`` left in the emulator, for the parts that play other services."""

    schedules: dict[str, PlannedSchedule] = field(default_factory=dict)
    stand_ins: list[StandIn] = field(default_factory=list)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)


def write_stack_file(
    stack: str,
    path: Path,
    settings: tuple[str, ...],
    template: Path | None = None,
    secrets: dict[str, Any] | None = None,
) -> Path:
    """A copy of the stack's file (or ``template``) with each ``key=value`` setting written in.

    ``secrets`` are full keys with their stack-file value (``{"secure": ...}``).
    """
    from infra.config.base import NAMESPACE
    from infra.config.overrides import parse_override
    from infra.config.stack_file import stack_file, with_config_value

    text = (template or stack_file(stack)).read_text(encoding="utf-8")
    for setting in settings:
        key, value = parse_override(setting)
        section, *rest = key.split(".")
        if rest:
            text = with_config_value(text, f"{NAMESPACE}:{section}", rest, value)
        else:
            text = _top_level(text, f"{NAMESPACE}:{section}", value)
    for full_key, secret in (secrets or {}).items():
        text = _top_level(text, full_key, secret)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)
    return path


def _top_level(text: str, key: str, value: Any) -> str:
    import yaml

    document = yaml.safe_load(text)
    document["config"][key] = value
    return yaml.safe_dump(document, sort_keys=False)


def synthesize_stack(stack: str, stack_file: Path) -> Plan:
    """The offline plan of the program for the stack file, as ``pulumi up`` would run it."""
    from infra.plan.engine import synthesize

    return synthesize(stack, config_file=stack_file)


def apply(plan: Plan, clients: SimClients, previous: Applied | None = None) -> Applied:
    """Create or update in the emulator what the plan holds; returns what other parts play."""
    from ops.local.pipeline_runner import local_spec, prepare
    from ops.local.stack_emulation import provision_stack

    config: StackConfig = plan.config
    provision_stack(clients.promotion, config)
    prepare(clients.aws, local_spec(config))
    _buckets(plan, clients)
    _pipelines(plan, clients)
    if any("RETRAIN_LOCK_TABLE" in _variables(f["inputs"]) for f in plan.of_type(FUNCTION)):
        from ops.local.gate_emulation import create_lock_table

        create_lock_table(clients.dynamodb, plan)
    applied = Applied()
    applied.alarms = _alarms(plan, clients, previous.alarms if previous else {})
    applied.stand_ins = put_rules(plan, clients, previous.stand_ins if previous else [])
    applied.schedules = {s.name: s for s in planned_schedules(plan)}
    applied.functions = {
        f"arn:aws:lambda:{config.region}:{clients.account}:function:{r['inputs']['name']}": r[
            "inputs"
        ]
        for r in plan.of_type(FUNCTION)
    }
    return applied


def _variables(function: dict[str, Any]) -> dict[str, str]:
    return dict((function.get("environment") or {}).get("variables") or {})


def _buckets(plan: Plan, clients: SimClients) -> None:
    from ops.local.emulator import ensure_bucket

    for resource in plan.of_type("aws:s3/bucket:Bucket"):
        ensure_bucket(clients.s3, resource["inputs"]["bucket"], plan.config.region)
    for resource in plan.of_type(VERSIONING):
        inputs = resource["inputs"]
        status = inputs.get("versioningConfiguration", {}).get("status", "Suspended")
        clients.s3.put_bucket_versioning(
            Bucket=inputs["bucket"], VersioningConfiguration={"Status": status}
        )


def _pipelines(plan: Plan, clients: SimClients) -> None:
    from botocore.exceptions import ClientError

    for resource in plan.of_type(PIPELINE):
        inputs = resource["inputs"]
        request = {
            "PipelineName": inputs["pipelineName"],
            "PipelineDefinition": inputs["pipelineDefinition"],
            "RoleArn": inputs["roleArn"],
        }
        try:
            clients.sagemaker.describe_pipeline(PipelineName=inputs["pipelineName"])
        except ClientError:
            clients.sagemaker.create_pipeline(**request)
        else:
            clients.sagemaker.update_pipeline(**request)


def _alarms(
    plan: Plan, clients: SimClients, previous: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Put each planned alarm whose definition changed (an unchanged one keeps its state)."""
    planned = {r["inputs"]["name"]: alarm_parameters(r["inputs"]) for r in plan.of_type(ALARM)}
    for name, parameters in planned.items():
        if previous.get(name) != parameters:
            clients.cloudwatch.put_metric_alarm(**parameters)
    gone = sorted(set(previous) - set(planned))
    if gone:
        clients.cloudwatch.delete_alarms(AlarmNames=gone)
    return planned


def put_rules(plan: Plan, clients: SimClients, previous: list[StandIn]) -> list[StandIn]:
    """Each planned rule in the emulator's EventBridge, each target an SQS stand-in queue."""
    events, sqs = clients.events, clients.sqs
    for stand_in in previous:
        events.remove_targets(Rule=stand_in.rule, Ids=[_target_id(stand_in.queue_url)])
    stand_ins = []
    for rule in plan.of_type(RULE):
        inputs = rule["inputs"]
        events.put_rule(Name=inputs["name"], EventPattern=inputs["eventPattern"], State="ENABLED")
        for number, target in enumerate(_targets_of(plan, inputs["name"])):
            queue = f"{STAND_IN_PREFIX}{inputs['name']}-{number}"[:80]
            url = sqs.create_queue(QueueName=queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            entry: dict[str, Any] = {"Id": queue[:64], "Arn": arn["Attributes"]["QueueArn"]}
            transformer = target.get("inputTransformer")
            if transformer:
                entry["InputTransformer"] = {
                    "InputPathsMap": transformer.get("inputPaths", {}),
                    "InputTemplate": transformer["inputTemplate"],
                }
            events.put_targets(Rule=inputs["name"], Targets=[entry])
            stand_ins.append(
                StandIn(inputs["name"], str(target["arn"]), url, inputs["eventPattern"])
            )
    return stand_ins


def _target_id(queue_url: str) -> str:
    return queue_url.rsplit("/", 1)[-1][:64]


def _targets_of(plan: Plan, rule: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plan.of_type(TARGET) if r["inputs"].get("rule") == rule]


def planned_schedules(plan: Plan) -> list[PlannedSchedule]:
    """The plan's Scheduler schedules: expression, zone, target and pipeline parameters."""
    found = []
    for resource in plan.of_type(SCHEDULE):
        inputs = resource["inputs"]
        target = inputs.get("target", {})
        pipeline = target.get("sagemakerPipelineParameters") or {}
        parameters = {
            str(p["name"]): str(p["value"]) for p in pipeline.get("pipelineParameters", [])
        }
        found.append(
            PlannedSchedule(
                name=inputs["name"],
                expression=inputs["scheduleExpression"],
                timezone=inputs.get("scheduleExpressionTimezone", "UTC"),
                target_arn=str(target.get("arn", "")),
                parameters=parameters,
                enabled=inputs.get("state", "ENABLED") == "ENABLED",
                input=target.get("input"),
            )
        )
    return found


def pipeline_definition(plan: Plan, name: str) -> dict[str, Any]:
    """A planned pipeline's definition, parsed."""
    for resource in plan.of_type(PIPELINE):
        if resource["inputs"]["pipelineName"] == name:
            definition: dict[str, Any] = json.loads(resource["inputs"]["pipelineDefinition"])
            return definition
    raise LookupError(f"the plan of {plan.stack} has no pipeline {name}")
