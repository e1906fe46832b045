"""Limits AWS documents and botocore's models do not encode, checked on a plan's API calls.

Each check takes one call and every call of the plan (some limits relate two
resources: a canary's size and the endpoint's instance count) and yields what
AWS would refuse, as a sentence. Each cites the page that states the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from infra.plan.validate.api_calls import ApiCall

Check = Callable[[ApiCall, list[ApiCall]], Iterator[str]]

# S3 moves an object to STANDARD_IA or ONEZONE_IA no sooner than 30 days, and refuses a rule
# whose expiration is not later than its transition ("the expiration time must be later than
# the transition time"):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-rule.html
INFREQUENT_ACCESS_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
INFREQUENT_ACCESS_MIN_DAYS = 30


def lifecycle_order(call: ApiCall, _: list[ApiCall]) -> Iterator[str]:
    for rule in call.params["LifecycleConfiguration"]["Rules"]:
        name = rule.get("ID", "a rule")
        for key, transitions, expiration, days in (
            (
                "Noncurrent",
                rule.get("NoncurrentVersionTransitions", []),
                rule.get("NoncurrentVersionExpiration", {}),
                "NoncurrentDays",
            ),
            ("Current", rule.get("Transitions", []), rule.get("Expiration", {}), "Days"),
        ):
            for transition in transitions:
                after = transition.get(days)
                if transition.get("StorageClass") in INFREQUENT_ACCESS_CLASSES and (
                    after is None or after < INFREQUENT_ACCESS_MIN_DAYS
                ):
                    yield (
                        f"{name}: {transition['StorageClass']} after {after} days; "
                        f"S3 needs at least {INFREQUENT_ACCESS_MIN_DAYS}"
                    )
                expire = expiration.get(days)
                if expire is not None and after is not None and expire <= after:
                    yield (
                        f"{name}: {key.lower()} objects expire after {expire} days, not later "
                        f"than their transition to {transition.get('StorageClass')} at {after} "
                        "(S3 answers InvalidArgument)"
                    )


# How often each namespace publishes its datapoints. A period below it, or not a multiple
# of a minute, "does not receive data for the attempts that do not correspond to a one-minute
# data resolution" (PutMetricAlarm, Period). 10, 20 and 30 s suit only metrics put with
# StorageResolution 1, which nothing of this platform publishes.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
# https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html (1-minute)
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html
METRIC_RESOLUTION_SECONDS = 60
# Period x EvaluationPeriods: one day for periods under an hour, seven days from an hour.
SHORT_PERIOD_WINDOW, LONG_PERIOD_WINDOW = 86_400, 604_800


def alarm_period(call: ApiCall, _: list[ApiCall]) -> Iterator[str]:
    params = call.params
    period, evaluations = params.get("Period"), params.get("EvaluationPeriods", 1)
    if period is None:
        return
    namespace = params.get("Namespace", "")
    if period < METRIC_RESOLUTION_SECONDS or period % METRIC_RESOLUTION_SECONDS:
        yield (
            f"Period {period} s on {namespace}, a one-minute metric: use 60 or a multiple of 60, "
            "or the alarm evaluates missing data"
        )
    window = period * evaluations
    limit = LONG_PERIOD_WINDOW if period >= 3600 else SHORT_PERIOD_WINDOW
    if window > limit:
        yield f"Period x EvaluationPeriods is {window} s; CloudWatch allows {limit} s"
    if params.get("DatapointsToAlarm", 0) > evaluations:
        yield f"DatapointsToAlarm {params['DatapointsToAlarm']} > EvaluationPeriods {evaluations}"


# Blue/green traffic shifting: the canary is at most half of the variant's instances, a
# linear step 10-50%; the rollout's timeout must outlast its waits; the rollback alarms must
# exist. https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html
# https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html
def rollout(call: ApiCall, calls: list[ApiCall]) -> Iterator[str]:
    deployment = call.params.get("DeploymentConfig") or {}
    policy = deployment.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {}
    instances = _instance_count(call.params.get("EndpointConfigName"), calls)
    for key, low, high in (("CanarySize", 0, 50), ("LinearStepSize", 10, 50)):
        size = routing.get(key)
        if size is None or instances is None:
            continue
        percent = (
            size["Value"] if size["Type"] == "CAPACITY_PERCENT" else 100 * size["Value"] / instances
        )
        if percent > high or percent < low or percent == 0:
            yield f"{key} is {percent:g}% of {instances} instances; SageMaker allows {low}-{high}%"
    waits = routing.get("WaitIntervalInSeconds", 0)
    steps = {"CANARY": 2, "LINEAR": -(-100 // max(1, _linear_percent(routing, instances)))}
    needed = waits * steps.get(routing.get("Type", ""), 1) + policy.get(
        "TerminationWaitInSeconds", 0
    )
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is not None and timeout <= needed:
        yield f"MaximumExecutionTimeoutInSeconds {timeout} does not outlast the waits ({needed} s)"
    alarms = {c.params.get("AlarmName") for c in calls if c.operation == "PutMetricAlarm"}
    for alarm in (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms", []):
        if alarm.get("AlarmName") not in alarms:
            yield f"rollback alarm {alarm.get('AlarmName')!r} is not created by this stack"


def _instance_count(config_name: Any, calls: list[ApiCall]) -> int | None:
    for call in calls:
        if (
            call.operation == "CreateEndpointConfig"
            and call.params.get("EndpointConfigName") == config_name
        ):
            variants = call.params.get("ProductionVariants") or [{}]
            return variants[0].get("InitialInstanceCount")
    return None


def _linear_percent(routing: dict[str, Any], instances: int | None) -> float:
    size = routing.get("LinearStepSize") or {}
    if size.get("Type") == "INSTANCE_COUNT" and instances:
        return 100 * size["Value"] / instances
    return float(size.get("Value") or 100)


# Names AWS constrains where the model does not (a queue name is a free string to CreateQueue).
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (64 for a name)
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
NAME_RULES: dict[tuple[str, str], tuple[str, re.Pattern[str], str]] = {
    ("sqs", "CreateQueue"): (
        "QueueName",
        re.compile(r"[A-Za-z0-9_-]{1,80}(\.fifo)?"),
        "1-80 letters, digits, - or _",
    ),
    ("sns", "CreateTopic"): (
        "Name",
        re.compile(r"[A-Za-z0-9_-]{1,256}(\.fifo)?"),
        "1-256 letters, digits, - or _",
    ),
    ("lambda", "CreateFunction"): (
        "FunctionName",
        re.compile(r"[A-Za-z0-9_-]{1,64}"),
        "1-64 letters, digits, - or _",
    ),
    ("s3", "CreateBucket"): (
        "Bucket",
        re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
        "3-63 lowercase letters, digits, . or -",
    ),
}


def name_rules(call: ApiCall, _: list[ApiCall]) -> Iterator[str]:
    member, pattern, allowed = NAME_RULES[(call.service, call.operation)]
    name = str(call.params.get(member, ""))
    if pattern.fullmatch(name) is None:
        yield f"{member} {name!r}: {allowed}"


# Queue attributes are a free string map in the model; their ranges are documented.
QUEUE_RANGES = {
    "MessageRetentionPeriod": (60, 1_209_600),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
    "VisibilityTimeout": (0, 43_200),
    "DelaySeconds": (0, 900),
}


def queue_attributes(call: ApiCall, _: list[ApiCall]) -> Iterator[str]:
    for key, (low, high) in QUEUE_RANGES.items():
        value = call.params.get("Attributes", {}).get(key)
        if value is not None and not (value.isdigit() and low <= int(value) <= high):
            yield f"Attributes.{key} = {value!r}: {low}-{high}"


# "You can reserve concurrency for as many functions as you like, as long as you leave at
# least 100 simultaneous executions unreserved", and a new account's whole quota may be 100:
# a reservation there is refused. https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
UNRESERVED_MINIMUM = 100


def reserved_concurrency(call: ApiCall, _: list[ApiCall]) -> Iterator[str]:
    reserved = call.params.get("ReservedConcurrentExecutions")
    yield (
        f"ReservedConcurrentExecutions {reserved}: Lambda keeps {UNRESERVED_MINIMUM} executions "
        f"unreserved, so an account whose quota is {UNRESERVED_MINIMUM} (a new one) refuses any "
        "reservation"
    )


LIMITS: dict[tuple[str, str], list[Check]] = {
    ("s3", "PutBucketLifecycleConfiguration"): [lifecycle_order],
    ("cloudwatch", "PutMetricAlarm"): [alarm_period],
    ("sagemaker", "CreateEndpoint"): [rollout],
    ("sagemaker", "UpdateEndpoint"): [rollout],
    ("sqs", "CreateQueue"): [name_rules, queue_attributes],
    ("sns", "CreateTopic"): [name_rules],
    ("lambda", "CreateFunction"): [name_rules],
    ("lambda", "PutFunctionConcurrency"): [reserved_concurrency],
    ("s3", "CreateBucket"): [name_rules],
}


def limit_problems(call: ApiCall, calls: list[ApiCall]) -> Iterator[str]:
    """What AWS's documented limits refuse in ``call``."""
    for check in LIMITS.get((call.service, call.operation), []):
        yield from check(call, calls)
