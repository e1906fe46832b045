"""The endpoint in recorded plans: model, immutable config, rollout, rollback alarms, scaling."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.plan.engine import Plan

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"
NEXT_MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/4"
SHADOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/5"
PINNED = f"serving.modelPackageArn={MODEL_ARN}"
EXPLICIT_NETWORK = (
    "network.mode=explicit",
    "network.vpcId=vpc-0a1b2c3d4e5f60718",
    "network.subnetIds=[subnet-0a1b2c3d4e5f60718, subnet-0a1b2c3d4e5f60719]",
    "network.securityGroupIds=[sg-0a1b2c3d4e5f60718]",
)
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

PlanFor = Callable[..., Plan]


@pytest.fixture
def prod(plan_for: PlanFor) -> Plan:
    return plan_for("prod", PINNED)


def endpoint_inputs(plan: Plan) -> dict[str, Any]:
    return plan.one(ENDPOINT)["inputs"]


def rollback_alarm_names(plan: Plan) -> list[str]:
    config = endpoint_inputs(plan)["deploymentConfig"]["autoRollbackConfiguration"]
    return [alarm["alarmName"] for alarm in config["alarms"]]


def alarm_named(plan: Plan, name: str) -> dict[str, Any]:
    return plan.one(ALARM, name)


def test_prod_endpoint_uses_a_ten_percent_canary_with_a_ten_minute_bake(prod: Plan) -> None:
    blue_green = endpoint_inputs(prod)["deploymentConfig"]["blueGreenUpdatePolicy"]
    routing = blue_green["trafficRoutingConfiguration"]
    assert routing["type"] == "CANARY"
    assert routing["canarySize"] == {"type": "CAPACITY_PERCENT", "value": 10}
    assert routing["waitIntervalInSeconds"] == 600
    assert (
        blue_green["maximumExecutionTimeoutInSeconds"]
        > 2 * 600 + blue_green["terminationWaitInSeconds"]
    )


def test_endpoint_name_is_deterministic_and_points_at_the_plans_config(prod: Plan) -> None:
    inputs = endpoint_inputs(prod)
    assert inputs["name"] == "mlops-prod-endpoint"
    assert inputs["endpointConfigName"] == prod.one(CONFIG)["inputs"]["name"]


def test_every_rollback_alarm_is_an_enabled_alarm_of_the_plan_with_actions(prod: Plan) -> None:
    names = rollback_alarm_names(prod)
    assert 1 <= len(names) <= 10
    topic = prod.outputs["notificationTopicArn"]
    for name in names:
        alarm = alarm_named(prod, name)["inputs"]
        assert alarm["actionsEnabled"] is True
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic]
        assert alarm["treatMissingData"] == "notBreaching"


def test_endpoint_waits_for_its_rollback_alarms(prod: Plan) -> None:
    endpoint = prod.one(ENDPOINT)
    for name in rollback_alarm_names(prod):
        assert alarm_named(prod, name)["urn"] in endpoint["dependencies"]


def test_endpoint_waits_for_the_execution_roles_policies(prod: Plan) -> None:
    dependencies = prod.one(ENDPOINT)["dependencies"]
    for policy in ("image-pull", "key-endpoint", "monitoring-data-capture-rw"):
        urn = prod.one("aws:iam/rolePolicy:RolePolicy", f"mlops-prod-execution-{policy}")["urn"]
        assert urn in dependencies, policy


def test_rollback_alarms_cover_5xx_p99_latency_and_memory(prod: Plan) -> None:
    by_metric = {
        alarm_named(prod, n)["inputs"]["metricName"]: alarm_named(prod, n)["inputs"]
        for n in rollback_alarm_names(prod)
    }
    assert set(by_metric) == {"Invocation5XXErrors", "ModelLatency", "MemoryUtilization"}
    latency = by_metric["ModelLatency"]
    assert latency["extendedStatistic"] == "p99" and "statistic" not in latency
    assert latency["threshold"] == 500 * 1000  # 500 ms in microseconds
    assert by_metric["Invocation5XXErrors"]["statistic"] == "Sum"
    assert by_metric["MemoryUtilization"]["namespace"] == "/aws/sagemaker/Endpoints"


def test_prod_rollback_alarms_watch_only_the_new_fleet(prod: Plan) -> None:
    config_name = prod.one(CONFIG)["inputs"]["name"]
    for name in rollback_alarm_names(prod):
        alarm = alarm_named(prod, name)["inputs"]
        dimensions = alarm["dimensions"]
        assert dimensions["EndpointName"] == "mlops-prod-endpoint"
        assert dimensions["VariantName"] == "primary"
        if alarm["namespace"] == "AWS/SageMaker":
            assert dimensions["EndpointConfigName"] == config_name
        else:  # utilization metrics carry no configuration dimension
            assert "EndpointConfigName" not in dimensions


def test_alarm_names_are_deterministic_and_exported(prod: Plan) -> None:
    names = rollback_alarm_names(prod)
    assert names == [
        "mlops-prod-endpoint-5xx",
        "mlops-prod-endpoint-latency-p99",
        "mlops-prod-endpoint-memory",
    ]
    assert prod.outputs["rollbackAlarmNames"] == names
    assert prod.outputs["endpointName"] == "mlops-prod-endpoint"
    assert prod.outputs["endpointConfigName"] == prod.one(CONFIG)["inputs"]["name"]


def test_execution_role_may_describe_exactly_the_rollback_alarms(prod: Plan) -> None:
    policy = prod.one(
        "aws:iam/rolePolicy:RolePolicy", "mlops-prod-execution-describe-rollback-alarms"
    )
    statement = json.loads(policy["inputs"]["policy"])["Statement"][0]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    expected = sorted(
        alarm_named(prod, name)["outputs"]["arn"] for name in rollback_alarm_names(prod)
    )
    assert sorted(statement["Resource"]) == expected
    assert policy["inputs"]["role"] == "mlops-prod-execution"
    assert policy["urn"] in prod.one(ENDPOINT)["dependencies"]


def test_model_comes_from_the_pinned_package_isolated_with_the_execution_role(prod: Plan) -> None:
    model = prod.one(MODEL)["inputs"]
    assert model["primaryContainer"] == {"modelPackageName": MODEL_ARN}
    assert model["enableNetworkIsolation"] is True
    assert model["executionRoleArn"] == prod.outputs["executionRoleArn"]
    assert "vpcConfig" not in model


def test_server_workers_reach_the_container_as_sagemakers_variable(
    prod: Plan, plan_for: PlanFor
) -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    set_workers = plan_for("prod", PINNED, "serving.workers=2")
    model = set_workers.one(MODEL)["inputs"]
    assert model["primaryContainer"] == {
        "modelPackageName": MODEL_ARN,
        "environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
    }
    assert model["name"] != prod.one(MODEL)["inputs"]["name"]  # a new model, then a new config
    request = {
        "ModelName": model["name"],
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/mlops-prod-execution",
        "PrimaryContainer": {
            "ModelPackageName": MODEL_ARN,
            "Environment": model["primaryContainer"]["environment"],
        },
    }
    shape = get_session().get_service_model("sagemaker").operation_model("CreateModel").input_shape
    assert not ParamValidator().validate(request, shape).has_errors()


def test_config_encrypts_and_captures_into_the_monitoring_bucket(prod: Plan) -> None:
    config = prod.one(CONFIG)["inputs"]
    key = prod.outputs["kmsKeyArn"]
    assert config["kmsKeyArn"] == key
    capture = config["dataCaptureConfig"]
    assert capture["destinationS3Uri"] == f"s3://{prod.outputs['monitoringBucket']}/data-capture/"
    assert capture["kmsKeyId"] == key and capture["enableCapture"] is True
    assert capture["initialSamplingPercentage"] == 20
    variant = config["productionVariants"][0]
    assert variant["variantName"] == "primary"
    assert variant["instanceType"] == "ml.m5.xlarge" and variant["initialInstanceCount"] == 2
    assert variant["modelName"] == prod.one(MODEL)["inputs"]["name"]


def test_changing_the_model_renames_model_and_config_and_keeps_the_endpoint(
    prod: Plan, plan_for: PlanFor
) -> None:
    changed = plan_for("prod", f"serving.modelPackageArn={NEXT_MODEL_ARN}")
    assert changed.one(MODEL)["inputs"]["name"] != prod.one(MODEL)["inputs"]["name"]
    assert changed.one(CONFIG)["inputs"]["name"] != prod.one(CONFIG)["inputs"]["name"]
    assert endpoint_inputs(changed)["endpointConfigName"] == changed.one(CONFIG)["inputs"]["name"]
    assert endpoint_inputs(changed)["name"] == endpoint_inputs(prod)["name"]
    for resource in (changed.one(MODEL), changed.one(CONFIG)):
        assert resource["deleteBeforeReplace"] is False  # the new one exists before the old goes


def test_same_inputs_give_the_same_config_name(prod: Plan, plan_for: PlanFor) -> None:
    again = plan_for("prod", PINNED, "serving.instanceCount=2")
    assert again.one(CONFIG)["inputs"]["name"] == prod.one(CONFIG)["inputs"]["name"]


def test_prod_scales_the_primary_variant_from_two(prod: Plan) -> None:
    target = prod.one("aws:appautoscaling/target:Target")["inputs"]
    assert target["resourceId"] == "endpoint/mlops-prod-endpoint/variant/primary"
    assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    policy = prod.one("aws:appautoscaling/policy:Policy")["inputs"]
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert policy["policyType"] == "TargetTrackingScaling"
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )
    assert tracking["scaleInCooldown"] == 300 and tracking["disableScaleIn"] is False


def test_no_model_deploys_everything_else_and_says_how_to_pin_one(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    assert not plan.of_type(ENDPOINT) and not plan.of_type(CONFIG) and not plan.of_type(MODEL)
    assert plan.of_type("aws:s3/bucket:Bucket")
    assert plan.outputs["servingStatus"] == "no model package pinned: run mlops promote --to prod"


def test_dev_without_a_model_says_to_deploy_its_own(plan_for: PlanFor) -> None:
    plan = plan_for("dev")
    assert plan.outputs["servingStatus"] == "no model package pinned: run mlops deploy --stack dev"


def test_disabled_serving_says_so(plan_for: PlanFor) -> None:
    plan = plan_for("prod", PINNED, "serving.enabled=false")
    assert not plan.of_type(ENDPOINT)
    assert "serving.enabled" in plan.outputs["servingStatus"]


def test_explicit_network_puts_the_isolated_model_in_the_vpc(plan_for: PlanFor) -> None:
    plan = plan_for("prod", PINNED, *EXPLICIT_NETWORK)
    model = plan.one(MODEL)["inputs"]
    assert model["enableNetworkIsolation"] is True
    assert model["vpcConfig"] == {
        "subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
        "securityGroupIds": ["sg-0a1b2c3d4e5f60718"],
    }


def test_dev_serves_serverless_all_at_once_without_capture(plan_for: PlanFor) -> None:
    plan = plan_for("dev", PINNED)
    config = plan.one(CONFIG)["inputs"]
    variant = config["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 5}
    assert "instanceType" not in variant and "dataCaptureConfig" not in config
    routing = endpoint_inputs(plan)["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert routing["trafficRoutingConfiguration"]["type"] == "ALL_AT_ONCE"
    assert rollback_alarm_names(plan)
    assert not plan.of_type("aws:appautoscaling/target:Target")
    # SageMaker supports neither network isolation nor a VPC for serverless endpoints.
    assert plan.one(MODEL)["inputs"]["enableNetworkIsolation"] is False


def test_staging_linear_rollout_reaches_the_endpoint(plan_for: PlanFor) -> None:
    plan = plan_for("staging", PINNED, "serving.rollout.strategy=linear")
    routing = endpoint_inputs(plan)["deploymentConfig"]["blueGreenUpdatePolicy"][
        "trafficRoutingConfiguration"
    ]
    assert routing["type"] == "LINEAR"
    assert routing["linearStepSize"] == {"type": "CAPACITY_PERCENT", "value": 20}


def test_shadow_variant_mirrors_a_share_of_traffic_to_its_own_model(plan_for: PlanFor) -> None:
    plan = plan_for("prod", PINNED, f"serving.shadowModelPackageArn={SHADOW_ARN}")
    models = {
        m["inputs"]["primaryContainer"]["modelPackageName"]: m["inputs"]
        for m in plan.of_type(MODEL)
    }
    assert set(models) == {MODEL_ARN, SHADOW_ARN}
    shadow = plan.one(CONFIG)["inputs"]["shadowProductionVariants"][0]
    assert shadow["variantName"] == "shadow"
    assert shadow["modelName"] == models[SHADOW_ARN]["name"]
    assert shadow["initialVariantWeight"] == pytest.approx(0.1)


def test_serving_resources_are_tagged(prod: Plan) -> None:
    for token in (ENDPOINT, CONFIG, MODEL, ALARM, "aws:appautoscaling/target:Target"):
        for resource in prod.of_type(token):
            if resource["name"].startswith("mlops-prod-endpoint") or token != ALARM:
                assert resource["inputs"]["tags"]["component"] == "serving", resource["name"]
