"""botocore's service models and AWS's documented limits on every API call a stack implies."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from infra.plan.engine import Plan
from infra.plan.validate.api_calls import api_calls
from infra.plan.validate.aws_api import check_api_calls
from tests.validators.conftest import STACKS, stack_plan

# The calls the resources of the brief map onto, each made by some stack.
EXPECTED_OPERATIONS = {
    "CreateEndpointConfig",
    "UpdateEndpoint",  # the endpoint's deployment config
    "CreateFeatureGroup",
    "PutMetricAlarm",
    "PutRule",
    "PutTargets",
    "CreateSchedule",
    "CreateBudget",
    "CreateFunction",
    "CreateQueue",
    "CreateTopic",
    "PutBucketLifecycleConfiguration",
}


def broken(
    stack: str, type_token: str, change: Callable[[dict[str, Any]], None], name: str | None = None
) -> Plan:
    """A copy of the stack's plan with one resource's inputs changed."""
    plan = stack_plan(stack)
    copied = dataclasses.replace(plan, resources=copy.deepcopy(plan.resources))
    change(copied.one(type_token, name)["inputs"])
    return copied


def failures(plan: Plan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for result in check_api_calls(plan)[0]:
        if result.status == "failed":
            found.setdefault(result.check_id, []).append(f"{result.resource}: {result.detail}")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_call_of_every_stack_is_accepted(report_of, stack: str) -> None:
    report = report_of(stack)
    failures = [
        (f.check_id, f.resource, f.detail)
        for f in report.failures
        if f.source == "validator:aws-api"
    ]
    assert failures == []
    assert report.checked["API calls"] >= 55


def test_the_resources_of_every_kind_are_checked() -> None:
    operations = {
        call.operation for stack in STACKS for call in api_calls(stack_plan(stack).resources)
    }
    assert operations >= EXPECTED_OPERATIONS


def test_an_unknown_parameter_fails_the_service_model() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["productionVariants"][0]["instanceSize"] = "large"

    found = failures(
        broken("prod", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", change)
    )
    assert any("instanceSize" in problem for problem in found["AWS_API_PARAMETERS"])


def test_a_value_outside_the_models_enum_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"][
            "type"
        ] = "GRADUAL"

    found = failures(broken("prod", "aws:sagemaker/endpoint:Endpoint", change))
    assert any("GRADUAL" in problem for problem in found["AWS_API_MODEL_LIMITS"])


def test_a_wait_beyond_the_models_maximum_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"][
            "waitIntervalInSeconds"
        ] = 4000.0

    found = failures(broken("prod", "aws:sagemaker/endpoint:Endpoint", change))
    assert any("maximum 3600" in problem for problem in found["AWS_API_MODEL_LIMITS"])


def test_a_name_too_long_for_the_model_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["name"] = "x" * 70

    found = failures(
        broken(
            "prod", "aws:cloudwatch/eventRule:EventRule", change, "mlops-prod-model-package-state"
        )
    )
    assert any("maximum 64" in problem for problem in found["AWS_API_MODEL_LIMITS"])


def test_old_versions_expiring_before_their_transition_fail() -> None:
    """dev's rule before the fix: STANDARD_IA at 30 days, expiry at 7 (InvalidArgument)."""

    def change(inputs: dict[str, Any]) -> None:
        inputs["rules"][0]["noncurrentVersionTransitions"] = [
            {"noncurrentDays": 30.0, "storageClass": "STANDARD_IA"}
        ]

    found = failures(
        broken(
            "dev",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            change,
            "mlops-dev-data-lifecycle",
        )
    )
    assert any("not later than their transition" in p for p in found["AWS_DOCUMENTED_LIMITS"])


def test_infrequent_access_sooner_than_30_days_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["rules"][0]["noncurrentVersionTransitions"][0]["noncurrentDays"] = 10.0

    found = failures(
        broken(
            "prod",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            change,
            "mlops-prod-data-lifecycle",
        )
    )
    assert any("needs at least 30" in p for p in found["AWS_DOCUMENTED_LIMITS"])


@pytest.mark.parametrize("period", [10.0, 30.0, 90.0])
def test_an_alarm_period_finer_than_its_one_minute_metric_fails(period: float) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["period"] = period

    found = failures(
        broken("prod", "aws:cloudwatch/metricAlarm:MetricAlarm", change, "mlops-prod-endpoint-5xx")
    )
    assert any("one-minute metric" in p for p in found["AWS_DOCUMENTED_LIMITS"])


def test_a_canary_larger_than_half_the_fleet_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        routing = inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
        routing["canarySize"] = {"type": "INSTANCE_COUNT", "value": 2.0}  # 2 of 2 instances

    found = failures(broken("prod", "aws:sagemaker/endpoint:Endpoint", change))
    assert any("CanarySize is 100%" in p for p in found["AWS_DOCUMENTED_LIMITS"])


def test_a_timeout_shorter_than_the_rollouts_waits_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["maximumExecutionTimeoutInSeconds"] = (
            900.0
        )

    found = failures(broken("prod", "aws:sagemaker/endpoint:Endpoint", change))
    assert any("does not outlast the waits" in p for p in found["AWS_DOCUMENTED_LIMITS"])


def test_a_rollback_alarm_the_stack_does_not_create_fails() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"][0]["alarmName"] = "gone"

    found = failures(broken("prod", "aws:sagemaker/endpoint:Endpoint", change))
    assert any("'gone' is not created" in p for p in found["AWS_DOCUMENTED_LIMITS"])


def test_a_queue_name_and_retention_outside_sqs_limits_fail() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["name"] = "q" * 81
        inputs["messageRetentionSeconds"] = 30.0

    found = failures(broken("prod", "aws:sqs/queue:Queue", change, "mlops-prod-dead-letters"))
    problems = " ".join(found["AWS_DOCUMENTED_LIMITS"])
    assert "1-80 letters" in problems and "MessageRetentionPeriod" in problems


def test_a_reserved_concurrency_fails_where_a_new_account_keeps_100_unreserved() -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["reservedConcurrentExecutions"] = 5.0

    found = failures(broken("prod", "aws:lambda/function:Function", change))
    assert any("ReservedConcurrentExecutions 5" in p for p in found["AWS_DOCUMENTED_LIMITS"])
