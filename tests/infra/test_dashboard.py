"""The stack dashboard: serving, rollout, drift, quality, shadow, pipelines and unit cost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.plan.prices import INSTANCE_HOUR
from ml.schema import FEATURE_COLUMNS

ARN = (
    "serving.modelPackageArn="
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
)
SHADOW = (
    "serving.shadowModelPackageArn="
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/4"
)
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def widgets(plan) -> dict[str, dict[str, Any]]:
    body = json.loads(
        plan.one(DASHBOARD, f"mlops-{plan.stack}-overview")["inputs"]["dashboardBody"]
    )
    return {w["properties"].get("title", w["type"]): w for w in body["widgets"]}


@pytest.fixture
def prod(plan_for):
    return plan_for("prod", ARN, SHADOW)


def test_the_prod_dashboard_has_every_view_an_operator_needs(prod) -> None:
    assert set(widgets(prod)) == {
        "Invocations",
        "Model latency p99 (microseconds)",
        "Errors (5xx), whole endpoint",
        "Rollout: rollback alarms of the new fleet",
        "Drift: largest feature PSI",
        "Drift per feature (PSI)",
        "Shadow vs primary: invocations and latency p99",
        "Cost per 1,000 predictions (list price)",
        "Model quality on labelled traffic",
        "Pipeline runs: mlops-prod-training",
        "Pipeline runs: mlops-prod-monitoring",
    }


def test_the_rollout_widget_shows_exactly_the_rollback_alarms(prod) -> None:
    alarms = widgets(prod)["Rollout: rollback alarms of the new fleet"]["properties"]["alarms"]
    endpoint = prod.one("aws:sagemaker/endpoint:Endpoint")["inputs"]
    rollback = endpoint["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
    arns = {
        a["outputs"]["arn"]
        for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a["inputs"].get("name") in {r["alarmName"] for r in rollback}
    }
    assert set(alarms) == arns and len(arns) == len(rollback)


def test_drift_per_feature_uses_the_publishers_dimensions(prod) -> None:
    rows = widgets(prod)["Drift per feature (PSI)"]["properties"]["metrics"]
    assert [row[:2] for row in rows] == [["mlops/drift", "FeaturePSI"]] * len(FEATURE_COLUMNS)
    features = [dict(zip(row[2:-1:2], row[3:-1:2], strict=True))["Feature"] for row in rows]
    assert features == list(FEATURE_COLUMNS)
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "mlops-prod-drift-alarm")["inputs"]
    for row in rows:
        dimensions = dict(zip(row[2:-1:2], row[3:-1:2], strict=True))
        assert {k: v for k, v in dimensions.items() if k != "Feature"} == alarm["dimensions"]


def test_quality_widget_watches_what_the_quality_alarms_watch(prod) -> None:
    rows = widgets(prod)["Model quality on labelled traffic"]["properties"]["metrics"]
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "mlops-prod-quality-recall")
    recall = next(row for row in rows if row[1] == "Recall")
    assert recall[0] == alarm["inputs"]["namespace"]
    assert dict(zip(recall[2:-1:2], recall[3:-1:2], strict=True)) == alarm["inputs"]["dimensions"]


def test_shadow_widget_compares_both_variants(prod) -> None:
    rows = widgets(prod)["Shadow vs primary: invocations and latency p99"]["properties"]["metrics"]
    variants = {dict(zip(r[2:-1:2], r[3:-1:2], strict=True))["VariantName"] for r in rows}
    assert variants == {"primary", "shadow"}


def test_unit_cost_is_the_instances_list_price_over_an_hours_predictions(prod) -> None:
    widget = widgets(prod)["Cost per 1,000 predictions (list price)"]["properties"]
    assert widget["period"] == 3600
    hidden, expression = widget["metrics"][0], widget["metrics"][-1][0]
    assert hidden[1] == "Invocations" and hidden[-1] == {
        "stat": "Sum",
        "id": "inv",
        "visible": False,
    }
    cost = INSTANCE_HOUR["ml.m5.xlarge"] * 2  # prod: two ml.m5.xlarge
    assert expression["expression"] == f"{cost:g} / (inv / 1000)"
    # 1,000 predictions an hour on two instances cost the two instance-hours.
    assert eval(expression["expression"], {}, {"inv": 1000}) == pytest.approx(cost)


def test_a_serverless_endpoint_prices_billed_gb_seconds(plan_for) -> None:
    dev = plan_for("dev", ARN.replace("mlops-prod", "mlops-dev"))
    widget = widgets(dev)["Cost per 1,000 predictions (list price)"]["properties"]
    expression = widget["metrics"][-1][0]["expression"]
    # 2 GB for 200 ms (ModelLatency in microseconds): 0.4 GB-s a prediction.
    value = eval(expression, {}, {"lat": 200_000})
    assert value == pytest.approx(1000 * 0.4 * 0.00002)


def test_without_a_model_the_dashboard_shows_the_training_pipeline(plan_for) -> None:
    assert set(widgets(plan_for("prod"))) == {"Pipeline runs: mlops-prod-training"}


def test_the_dashboard_can_be_turned_off(plan_for) -> None:
    assert plan_for("prod", ARN, "monitoring.dashboard=false").of_type(DASHBOARD) == []


def test_widgets_are_laid_out_two_a_row(prod) -> None:
    placed = sorted((w["y"], w["x"]) for w in widgets(prod).values())
    assert placed == [(6 * (i // 2), 12 * (i % 2)) for i in range(len(placed))]


def test_no_drift_widgets_where_nothing_publishes_drift(plan_for) -> None:
    shown = widgets(plan_for("prod", ARN, "serving.dataCapture.enabled=false"))
    assert "Invocations" in shown
    assert not [title for title in shown if title.startswith(("Drift", "Model quality"))]
    assert "Pipeline runs: mlops-prod-monitoring" not in shown
