"""The endpoint's blue/green update, played from prod's planned deployment config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from moto import mock_aws

from infra.plan.engine import Plan
from ops.local.alarm_evaluation import AlarmEvaluationError, alarm_parameters, evaluate_alarm
from ops.simulate.endpoint import PROVISIONING, Endpoint, Fleet, Rollout, publish_minute

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def planned(plan: Plan) -> tuple[Rollout, dict[str, dict]]:
    endpoint = plan.one("aws:sagemaker/endpoint:Endpoint")["inputs"]
    alarms = {
        r["inputs"]["name"]: alarm_parameters(r["inputs"])
        for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    return Rollout.from_plan(endpoint), alarms


def test_prods_rollout_is_a_ten_percent_canary_with_ten_minute_bakes(prod_plan: Plan) -> None:
    rollout, _ = planned(prod_plan)
    assert (rollout.routing, rollout.canary_share) == ("CANARY", 0.1)
    assert rollout.bake == timedelta(minutes=10)
    assert rollout.alarms == (
        "mlops-prod-endpoint-5xx",
        "mlops-prod-endpoint-latency-p99",
        "mlops-prod-endpoint-memory",
    )


def test_a_canary_provisions_then_bakes_a_tenth_then_everything(prod_plan: Plan) -> None:
    rollout, _ = planned(prod_plan)
    endpoint = Endpoint("mlops-prod-endpoint", "primary", 20.0)
    blue, green = Fleet("config-blue", "arn/1", None), Fleet("config-green", "arn/2", None)
    endpoint.start(blue, rollout, NOW)
    deployment = endpoint.start(green, rollout, NOW)
    assert endpoint.shares() == [(blue, 1.0)]
    stages = []
    at = NOW
    while endpoint.deployment is not None:
        assert deployment.stage_ends is not None
        at = deployment.stage_ends
        stages.append((endpoint.advance(at), [round(share, 2) for _, share in endpoint.shares()]))
    assert stages == [("canary", [0.9, 0.1]), ("baking", [1.0]), ("completed", [1.0])]
    assert at - NOW == PROVISIONING + 2 * rollout.bake
    assert endpoint.serving is green


def test_a_bad_canary_trips_the_planned_5xx_alarm_and_blue_takes_everything_back(
    prod_plan: Plan,
) -> None:
    rollout, alarms = planned(prod_plan)
    config = str(prod_plan.outputs["endpointConfigName"])
    endpoint = Endpoint("mlops-prod-endpoint", "primary", 20.0)
    endpoint.start(Fleet("config-blue", "arn/1", None), rollout, NOW)
    deployment = endpoint.start(Fleet(config, "arn/2", None, error_share=0.3), rollout, NOW)
    endpoint.advance(NOW + PROVISIONING)
    rng = np.random.default_rng(0)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        cloudwatch.put_metric_alarm(**alarms["mlops-prod-endpoint-5xx"])
        states = []
        for minute in range(1, 4):
            at = NOW + PROVISIONING + timedelta(minutes=minute)
            publish_minute(cloudwatch, endpoint, 300.0, at - timedelta(minutes=1), rng)
            states.append(evaluate_alarm(cloudwatch, "mlops-prod-endpoint-5xx", at).state)
    assert states[0] == "ALARM"  # one minute with errors on the new fleet is enough
    endpoint.roll_back(NOW + PROVISIONING + timedelta(minutes=3))
    assert endpoint.serving is deployment.blue and endpoint.shares() == [(deployment.blue, 1.0)]


def test_a_bad_canary_on_a_tenth_of_little_traffic_trips_within_minutes_of_its_errors(
    prod_plan: Plan,
) -> None:
    """33 requests a minute (400 captured an hour at 20%), 3.3 of them to the canary."""
    rollout, alarms = planned(prod_plan)
    config = str(prod_plan.outputs["endpointConfigName"])
    delays = []
    for seed in range(20):
        endpoint = Endpoint("mlops-prod-endpoint", "primary", 20.0)
        endpoint.start(Fleet("config-blue", "arn/1", None), rollout, NOW)
        endpoint.start(Fleet(config, "arn/2", None, error_share=0.3), rollout, NOW)
        endpoint.advance(NOW + PROVISIONING)
        rng = np.random.default_rng(seed)
        first_errors = None
        with mock_aws():
            cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
            cloudwatch.put_metric_alarm(**alarms["mlops-prod-endpoint-5xx"])
            for minute in range(1, 11):
                at = NOW + PROVISIONING + timedelta(minutes=minute)
                errors = publish_minute(
                    cloudwatch, endpoint, 400 / 0.2 / 60, at - timedelta(minutes=1), rng
                )
                if errors and first_errors is None:
                    first_errors = minute - 1
                if evaluate_alarm(cloudwatch, "mlops-prod-endpoint-5xx", at).state == "ALARM":
                    delays.append(minute - first_errors)
                    break
    assert len(delays) == 20 and max(delays) <= 1


def test_a_healthy_canary_keeps_the_rollback_alarms_quiet(prod_plan: Plan) -> None:
    """moto computes no percentiles: the p99 latency alarm is refused with one line."""
    rollout, alarms = planned(prod_plan)
    config = str(prod_plan.outputs["endpointConfigName"])
    endpoint = Endpoint("mlops-prod-endpoint", "primary", 20.0)
    endpoint.start(Fleet("config-blue", "arn/1", None), rollout, NOW)
    endpoint.start(Fleet(config, "arn/2", None), rollout, NOW)
    endpoint.advance(NOW + PROVISIONING)
    rng = np.random.default_rng(1)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for name in rollout.alarms:
            cloudwatch.put_metric_alarm(**alarms[name])
        at = NOW + PROVISIONING
        for _ in range(5):
            at += timedelta(minutes=1)
            publish_minute(cloudwatch, endpoint, 300.0, at - timedelta(minutes=1), rng)
        judged = [name for name in rollout.alarms if "latency" not in name]
        assert {evaluate_alarm(cloudwatch, name, at).state for name in judged} == {"OK"}
        with pytest.raises(AlarmEvaluationError, match="computes no percentiles"):
            evaluate_alarm(cloudwatch, "mlops-prod-endpoint-latency-p99", at)


def test_the_first_deployment_creates_the_endpoint_outright(prod_plan: Plan) -> None:
    rollout, _ = planned(prod_plan)
    endpoint = Endpoint("mlops-prod-endpoint", "primary", 20.0)
    fleet = Fleet("config-1", "arn/1", None)
    deployment = endpoint.start(fleet, rollout, NOW)
    assert (
        deployment.stage == "created" and endpoint.serving is fleet and endpoint.deployment is None
    )
