"""Rollouts: each strategy's deployment policy, and every combination SageMaker refuses."""

from __future__ import annotations

import pytest
from pydantic.alias_generators import to_camel

from infra.components.serving_alarms import EndpointMetrics
from infra.components.serving_policy import (
    content_name,
    deployment_config,
    instance_has_local_storage,
)
from infra.config import ConfigError, Rollout, load_stack

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"
ALARMS = ["a-5xx", "a-latency"]


def rollout_of(**values: object) -> Rollout:
    """A Rollout from snake_case keyword arguments (the model reads camelCase keys)."""
    return Rollout.model_validate({to_camel(key): value for key, value in values.items()})


def config_with(stack: str, *assignments: str):
    return load_stack(stack, overrides=assignments)


def test_canary_shifts_a_capacity_share_then_bakes() -> None:
    policy = deployment_config(
        rollout_of(strategy="canary", canary_percent=10, wait_seconds=600), ALARMS
    )
    routing = policy["blue_green_update_policy"]["traffic_routing_configuration"]  # type: ignore[index]
    assert routing == {
        "type": "CANARY",
        "canary_size": {"type": "CAPACITY_PERCENT", "value": 10},
        "wait_interval_in_seconds": 600,
    }
    assert policy["auto_rollback_configuration"] == {
        "alarms": [{"alarm_name": "a-5xx"}, {"alarm_name": "a-latency"}]
    }


def test_linear_uses_linear_steps() -> None:
    rollout = rollout_of(
        strategy="linear", linear_step_percent=25, wait_seconds=300, timeout_seconds=3600
    )
    routing = deployment_config(rollout, ALARMS)["blue_green_update_policy"][  # type: ignore[index]
        "traffic_routing_configuration"
    ]
    assert routing["type"] == "LINEAR"
    assert routing["linear_step_size"] == {"type": "CAPACITY_PERCENT", "value": 25}
    assert "canary_size" not in routing


def test_all_at_once_keeps_the_bake_and_the_old_fleet_wait() -> None:
    rollout = rollout_of(strategy="all_at_once", wait_seconds=120, termination_wait_seconds=60)
    blue_green = deployment_config(rollout, ALARMS)["blue_green_update_policy"]
    assert blue_green == {
        "traffic_routing_configuration": {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 120},
        "termination_wait_in_seconds": 60,
        "maximum_execution_timeout_in_seconds": 3600,
    }


def test_rolling_replaces_in_batches_and_rolls_back_at_once() -> None:
    rollout = rollout_of(
        strategy="rolling", rolling_batch_percent=25, wait_seconds=300, timeout_seconds=3600
    )
    policy = deployment_config(rollout, ALARMS)
    assert "blue_green_update_policy" not in policy
    assert policy["rolling_update_policy"] == {
        "maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 25},
        "rollback_maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 100},
        "wait_interval_in_seconds": 300,
        "maximum_execution_timeout_in_seconds": 3600,
    }


@pytest.mark.parametrize("count", [0, 11])
def test_sagemaker_watches_one_to_ten_alarms(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 10"):
        deployment_config(rollout_of(), [f"alarm-{i}" for i in range(count)])


def test_content_names_change_with_content_only() -> None:
    first = content_name("mlops-prod-model", {"arn": MODEL_ARN, "isolated": True})
    assert first == content_name("mlops-prod-model", {"isolated": True, "arn": MODEL_ARN})
    assert first != content_name(
        "mlops-prod-model", {"arn": MODEL_ARN.replace("/3", "/4"), "isolated": True}
    )
    assert len(first) <= 63 and first.startswith("mlops-prod-model-")


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [
        ("ml.m5.xlarge", False),
        ("ml.c5.large", False),
        ("ml.m5d.large", True),
        ("ml.g4dn.xlarge", True),
        ("ml.g5.2xlarge", True),
    ],
)
def test_instances_with_local_storage_are_recognised(instance_type: str, local: bool) -> None:
    assert instance_has_local_storage(instance_type) is local


def test_prod_defaults_are_a_ten_percent_canary_with_a_ten_minute_bake_on_two_instances() -> None:
    serving = config_with("prod").serving
    assert serving.rollout.strategy == "canary" and serving.rollout.canary_percent == 10
    assert serving.rollout.wait_seconds == 600
    assert serving.instance_count >= 2 and serving.autoscaling.min_capacity >= 2


# (stack, overrides, the key the one-line error must name)
INVALID = [
    ("prod", ["serving.rollout.canaryPercent=80"], "serving.rollout.canaryPercent"),
    ("prod", ["serving.rollout.linearStepPercent=60"], "serving.rollout.linearStepPercent"),
    (
        "prod",
        [
            "serving.rollout.strategy=linear",
            "serving.rollout.linearStepPercent=10",
            "serving.rollout.timeoutSeconds=3600",
        ],
        "serving.rollout.timeoutSeconds",
    ),
    (
        "prod",
        ["serving.rollout.strategy=rolling", "serving.rollout.timeoutSeconds=20000"],
        "serving.rollout.timeoutSeconds",
    ),
    (
        "prod",
        [
            "serving.rollout.strategy=rolling",
            "serving.rollout.rollingBatchPercent=5",
            "serving.rollout.waitSeconds=600",
        ],
        "serving.rollout.timeoutSeconds",
    ),
    ("dev", ["serving.rollout.strategy=canary"], "serving.rollout.strategy"),
    ("dev", ["serving.rollout.strategy=linear"], "serving.rollout.strategy"),
    ("dev", ["serving.rollout.strategy=rolling"], "serving.rollout.strategy"),
    ("dev", ["serving.dataCapture.enabled=true"], "serving.dataCapture.enabled"),
    ("dev", [f"serving.shadowModelPackageArn={MODEL_ARN}"], "serving.shadowModelPackageArn"),
    ("dev", ["serving.autoscaling.enabled=true"], "serving.autoscaling.enabled"),
    (
        "dev",
        [
            "network.mode=explicit",
            "network.vpcId=vpc-0a1b2c3d4e5f60718",
            "network.subnetIds=[subnet-0a1b2c3d4e5f60718, subnet-0a1b2c3d4e5f60719]",
            "network.securityGroupIds=[sg-0a1b2c3d4e5f60718]",
        ],
        "serving.serverless",
    ),
    (
        "prod",
        ["serving.rollout.strategy=rolling", f"serving.shadowModelPackageArn={MODEL_ARN}"],
        "serving.rollout.strategy",
    ),
    ("prod", ["serving.autoscaling.minCapacity=3"], "serving.autoscaling.minCapacity"),
    ("prod", ["serving.autoscaling.maxCapacity=1"], "serving.autoscaling.minCapacity"),
    (
        "prod",
        ["serving.alarms.memoryUtilizationPercent=20"],
        "serving.alarms.memoryUtilizationPercent",
    ),
]


@pytest.mark.parametrize(
    ("stack", "assignments", "key"), INVALID, ids=[f"{c[0]}:{c[1][-1]}" for c in INVALID]
)
def test_invalid_rollouts_fail_with_one_line_naming_the_key(
    stack: str, assignments: list[str], key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config_with(stack, *assignments)
    message = str(raised.value)
    assert "\n" not in message
    assert f"mlops:{key} " in message, message


@pytest.mark.parametrize("strategy", ["all_at_once", "canary", "linear", "rolling"])
def test_every_strategy_is_accepted_on_an_instance_fleet(strategy: str) -> None:
    serving = config_with("staging", f"serving.rollout.strategy={strategy}").serving
    assert serving.rollout.strategy == strategy
    assert deployment_config(serving.rollout, ALARMS)["auto_rollback_configuration"]


def test_metrics_of_the_new_fleet_add_the_config_dimension_and_keep_their_statistic() -> None:
    metrics = EndpointMetrics("mlops-prod-endpoint", "primary", "mlops-prod-endpoint-config-abc")
    latency = metrics.latency_p99(new_fleet_only=True).alarm_inputs()
    assert latency["extended_statistic"] == "p99" and "statistic" not in latency
    assert latency["dimensions"]["EndpointConfigName"] == "mlops-prod-endpoint-config-abc"
    whole = metrics.errors_5xx(new_fleet_only=False).alarm_inputs()
    assert whole["statistic"] == "Sum"
    assert whole["dimensions"] == {"EndpointName": "mlops-prod-endpoint", "VariantName": "primary"}
    assert "EndpointConfigName" not in metrics.memory_utilization().dimensions
