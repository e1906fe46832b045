"""Cost estimate: list prices times the plan's resources, every assumption stated."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from infra.plan.cost import PRICERS, CostEstimate, CostItem, estimate_cost
from infra.plan.cost_training import runs_per_month
from infra.plan.engine import Plan


def with_resources(plan: Plan, *resources: tuple[str, str, dict[str, Any]]) -> Plan:
    """A copy of ``plan`` with extra resources (type, name, inputs)."""
    extra = [
        {
            "urn": f"urn:test::{type_token}::{name}",
            "type": type_token,
            "name": name,
            "custom": True,
            "inputs": inputs,
            "outputs": {"id": name, "name": inputs.get("name", name)},
            "dependencies": [],
            "protect": False,
        }
        for type_token, name, inputs in resources
    ]
    return dataclasses.replace(plan, resources=copy.deepcopy(plan.resources) + extra)


def items_of(estimate: CostEstimate, service: str) -> list[CostItem]:
    return [item for item in estimate.items if item.service == service]


CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
QUEUE_TYPE = "aws:sqs/queue:Queue"


def test_the_total_is_the_sum_of_the_items_and_the_stack_key_costs_a_dollar(plan_for) -> None:
    estimate = estimate_cost(plan_for("prod"))
    assert estimate.total == round(sum(i.monthly_usd or 0 for i in estimate.items), 2)
    assert [i.monthly_usd for i in items_of(estimate, "KMS")] == [1.0]
    assert estimate.to_dict()["totalMonthly"] == estimate.total


def test_buckets_are_priced_on_a_stated_volume(plan_for) -> None:
    data = next(
        i for i in estimate_cost(plan_for("dev")).items if i.resource.endswith("mlops-dev-data")
    )
    assert data.monthly_usd == 2.3 and "100 GB" in data.assumption


def test_instance_endpoints_cost_instances_times_hours(plan_for) -> None:
    plan = with_resources(
        plan_for("prod"),
        (
            CONFIG,
            "cfg",
            {
                "name": "cfg",
                "productionVariants": [
                    {
                        "variantName": "primary",
                        "instanceType": "ml.m5.xlarge",
                        "initialInstanceCount": 2.0,
                    }
                ],
            },
        ),
        (ENDPOINT, "ep", {"name": "ep", "endpointConfigName": "cfg"}),
    )
    [item] = items_of(estimate_cost(plan), "SageMaker hosting")
    assert item.basis == "2 x ml.m5.xlarge x 730 h"
    assert item.monthly_usd == pytest.approx(2 * 0.23 * 730)


def test_serverless_endpoints_are_priced_on_an_assumed_traffic(plan_for) -> None:
    plan = with_resources(
        plan_for("dev"),
        (
            CONFIG,
            "cfg",
            {
                "name": "cfg",
                "productionVariants": [
                    {"variantName": "primary", "serverlessConfig": {"memorySizeInMb": 2048.0}}
                ],
            },
        ),
        (ENDPOINT, "ep", {"name": "ep", "endpointConfigName": "cfg"}),
    )
    [item] = items_of(estimate_cost(plan), "SageMaker serverless")
    assert item.monthly_usd == pytest.approx(2 * 20_000 * 0.00002)
    assert "100,000 invocations" in item.assumption


def test_an_instance_type_without_a_list_price_is_named_not_guessed(plan_for) -> None:
    plan = with_resources(
        plan_for("prod"),
        (
            CONFIG,
            "cfg",
            {
                "name": "cfg",
                "productionVariants": [
                    {
                        "variantName": "primary",
                        "instanceType": "ml.p5.48xlarge",
                        "initialInstanceCount": 1,
                    }
                ],
            },
        ),
        (ENDPOINT, "ep", {"name": "ep", "endpointConfigName": "cfg"}),
    )
    estimate = estimate_cost(plan)
    assert [i.basis for i in estimate.unpriced] == ["1 x ml.p5.48xlarge x 730 h"]


def test_alarms_dashboards_and_custom_metrics(plan_for) -> None:
    alarm = "aws:cloudwatch/metricAlarm:MetricAlarm"
    plan = with_resources(
        plan_for("dev"),
        (
            alarm,
            "standard",
            {"namespace": "AWS/SageMaker", "metricName": "Invocations", "period": 60.0},
        ),
        (alarm, "fast", {"namespace": "mlops/drift", "metricName": "psi", "period": 10.0}),
        (
            alarm,
            "math",
            {
                "metricQueries": [
                    {
                        "id": "a",
                        "metric": {"namespace": "mlops/drift", "metricName": "psi", "period": 60},
                    },
                    {
                        "id": "b",
                        "metric": {"namespace": "mlops/drift", "metricName": "ks", "period": 60},
                    },
                    {"id": "e", "expression": "a+b"},
                ]
            },
        ),
    )
    estimate = estimate_cost(plan)
    by_name = {
        i.resource.rsplit(".", 1)[-1]: i.monthly_usd
        for i in items_of(estimate, "CloudWatch alarms")
    }
    assert (by_name["standard"], by_name["fast"], by_name["math"]) == (0.1, 0.3, 0.2)
    assert [i.basis for i in items_of(estimate, "CloudWatch metrics")] == ["2 custom metric(s)"]
    assert all(i.monthly_usd == 3.0 for i in items_of(estimate, "CloudWatch dashboards"))


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 hour)", 730),
        ("rate(30 minutes)", 1460),
        ("rate(1 day)", 730 / 24),
        ("cron(0 * * * ? *)", 730),
        ("cron(0 3 * * ? *)", 30),
    ],
)
def test_schedules_run_as_often_as_their_expression_says(expression: str, runs: float) -> None:
    assert runs_per_month(expression) == (pytest.approx(runs), "")


def test_a_disabled_schedule_costs_nothing_and_an_enabled_one_prices_its_jobs(plan_for) -> None:
    schedule = "aws:scheduler/schedule:Schedule"
    plan = with_resources(
        plan_for("staging"),
        (schedule, "off", {"scheduleExpression": "rate(1 hour)", "state": "DISABLED"}),
        (
            schedule,
            "hourly",
            {
                "scheduleExpression": "rate(1 hour)",
                "state": "ENABLED",
                "target": {"arn": "arn:aws:sagemaker:us-east-1:1:pipeline/p"},
            },
        ),
    )
    jobs = {
        i.resource.rsplit(".", 1)[-1]: i for i in items_of(estimate_cost(plan), "SageMaker jobs")
    }
    assert jobs["off"].monthly_usd == 0.0
    assert jobs["hourly"].monthly_usd == pytest.approx(730 * 20 / 60 * 0.115, abs=0.01)
    assert "20 instance-minutes" in jobs["hourly"].assumption


def test_the_monitoring_schedule_prices_three_short_jobs_a_run(plan_for) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
    estimate = estimate_cost(plan_for("prod", f"serving.modelPackageArn={arn}"))
    jobs = {i.resource.rsplit(".", 1)[-1]: i for i in items_of(estimate, "SageMaker jobs")}
    monitoring = jobs["mlops-prod-monitoring-schedule"]
    # Drift, quality and feedback: about five billed instance-minutes each.
    assert monitoring.monthly_usd == pytest.approx(730 * 15 / 60 * 0.115, abs=0.01)
    assert "15 instance-minutes" in monitoring.assumption


def test_print_cost_shows_every_item_and_the_total(plan_for, capsys) -> None:
    from ops.plan_report import console, print_cost

    estimate = estimate_cost(plan_for("dev"))
    with console.capture() as captured:
        print_cost(estimate)
    text = captured.get()
    assert f"${estimate.total:,.2f}" in text and "KMS" in text


def test_the_topic_and_queue_are_priced_on_stated_volumes(plan_for) -> None:
    estimate = estimate_cost(plan_for("prod"))
    [topic] = items_of(estimate, "SNS")
    assert topic.monthly_usd == 0.01 and "10,000" in topic.assumption
    queues = {item.resource.split(".")[-1]: item for item in items_of(estimate, "SQS")}
    assert set(queues) == {"mlops-prod-dead-letters"}  # no queue waits for a consumer
    other = {"name": "work", "inputs": {"name": "mlops-prod-work"}}
    assert PRICERS[QUEUE_TYPE]("aws_sqs_queue.work", other)[0].monthly_usd == 0.04
    assert queues["mlops-prod-dead-letters"].monthly_usd == 0.0
    assert "only failed deliveries" in queues["mlops-prod-dead-letters"].assumption


def test_subscriptions_and_the_budget_are_priced_with_their_assumptions(plan_for) -> None:
    plan = plan_for(
        "prod",
        "monitoring.alarmEmails=[oncall@example.com]",
        "monitoring.alarmHttpsEndpoints=[https://chat.example.com/hooks/mlops]",
    )
    estimate = estimate_cost(plan)
    subscriptions = [i for i in items_of(estimate, "SNS") if "subscription" in i.resource]
    assert sorted(i.basis for i in subscriptions) == [
        "1,000 email notifications",
        "1,000 https notifications",
    ]
    assert all(i.monthly_usd is not None and "assumes" in i.assumption for i in subscriptions)
    [budget] = items_of(estimate, "AWS Budgets")
    assert budget.monthly_usd == 0.61 and "two free" in budget.assumption


def test_dev_costs_under_a_tenth_of_a_serving_prod(plan_for) -> None:
    prod = estimate_cost(
        plan_for(
            "prod",
            "serving.modelPackageArn="
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3",
        )
    )
    dev = estimate_cost(plan_for("dev"))
    assert dev.total < prod.total / 10, (dev.total, prod.total)


def test_the_retrain_gate_is_priced_on_stated_invocations(plan_for) -> None:
    plan = plan_for(
        "prod",
        "serving.modelPackageArn="
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3",
    )
    [gate] = items_of(estimate_cost(plan), "Lambda")
    assert gate.basis == "1,000 invocations x 2 s at 128 MB"
    assert gate.monthly_usd == 0.0 and "1,000 invocations" in gate.assumption


def test_every_stack_prices_the_project_image_repository(plan_for) -> None:
    for stack in ("dev", "staging", "prod"):
        (item,) = items_of(estimate_cost(plan_for(stack)), "ECR")
        assert item.resource == f"aws_ecr_repository.mlops-{stack}-image"
        assert item.monthly_usd == pytest.approx(2 * 0.10)
        assert "GB stored" in item.assumption


def test_prod_without_a_pin_prices_its_configured_endpoint_as_most_of_its_cost(plan_for) -> None:
    estimate = estimate_cost(plan_for("prod"))
    [hosting] = items_of(estimate, "SageMaker hosting")
    assert hosting.resource == "mlops-prod-endpoint (configured) (primary)"
    assert hosting.basis == "2 x ml.m5.xlarge x 730 h"
    assert hosting.assumption.startswith("no model pinned yet: priced as configured")
    assert hosting.monthly_usd is not None and hosting.monthly_usd / estimate.total > 0.85


def test_a_pinned_endpoint_is_priced_from_the_plan_not_the_config(plan_for) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
    [hosting] = items_of(
        estimate_cost(plan_for("prod", f"serving.modelPackageArn={arn}")), "SageMaker hosting"
    )
    assert "configured" not in hosting.resource and hosting.basis == "2 x ml.m5.xlarge x 730 h"


def test_a_stack_that_serves_nothing_prices_no_hosting(plan_for) -> None:
    estimate = estimate_cost(plan_for("prod", "serving.enabled=false"))
    assert items_of(estimate, "SageMaker hosting") == []


def test_dev_prices_its_configured_serverless_endpoint(plan_for) -> None:
    [serverless] = items_of(estimate_cost(plan_for("dev")), "SageMaker serverless")
    assert serverless.resource == "mlops-dev-endpoint (configured) (primary)"


def test_training_is_priced_at_the_scheduled_cadence_and_on_alarms(plan_for) -> None:
    jobs = {i.resource: i for i in items_of(estimate_cost(plan_for("prod")), "SageMaker jobs")}
    scheduled = jobs["aws_scheduler_schedule.mlops-prod-training-schedule"]
    assert scheduled.basis == "730 runs x 20 min on ml.m5.large"
    assert "cache hit of 6 min ($8.39 a month at this cadence)" in scheduled.assumption
    alarms = jobs["mlops-prod-retrain-gate (training it starts)"]
    assert alarms.basis == "4 alarm-started runs x 20 min on ml.m5.large"
    assert alarms.monthly_usd == pytest.approx(4 * 20 / 60 * 0.115, abs=0.01)
    assert "360-minute cool-down allows at most 121" in alarms.assumption
    assert "created with the first pin" in alarms.assumption


def test_a_slower_cadence_costs_less_and_a_short_cool_down_raises_the_ceiling(plan_for) -> None:
    daily = estimate_cost(plan_for("prod", "pipeline.schedule=rate(1 day)"))
    schedule = {i.resource: i for i in items_of(daily, "SageMaker jobs")}
    assert schedule["aws_scheduler_schedule.mlops-prod-training-schedule"].monthly_usd == (
        pytest.approx(730 / 24 * 20 / 60 * 0.115, abs=0.01)
    )
    short = estimate_cost(plan_for("prod", "monitoring.retrainCooldownMinutes=15"))
    [alarms] = [i for i in items_of(short, "SageMaker jobs") if "retrain-gate" in i.resource]
    assert "allows at most 2920" in alarms.assumption


def test_without_retraining_on_alarms_no_alarm_started_run_is_priced(plan_for) -> None:
    estimate = estimate_cost(plan_for("dev"))
    assert not [i for i in estimate.items if "retrain-gate (training" in i.resource]
