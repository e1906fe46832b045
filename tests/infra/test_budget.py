"""Cost budget: one monthly budget per stack, over its own tags, announced on the stack topic."""

from __future__ import annotations

from tests.infra.conftest import policy

BUDGET = "aws:budgets/budget:Budget"


def test_each_stack_has_a_monthly_cost_budget_with_its_configured_limit(plan_for) -> None:
    for stack, limit in (("dev", "50.00"), ("staging", "500.00"), ("prod", "1500.00")):
        budget = plan_for(stack).one(BUDGET, f"mlops-{stack}-monthly-cost")["inputs"]
        assert (budget["budgetType"], budget["timeUnit"]) == ("COST", "MONTHLY")
        assert (budget["limitAmount"], budget["limitUnit"]) == (limit, "USD")


def test_the_budget_counts_only_resources_tagged_with_this_project_and_stack(plan_for) -> None:
    budget = plan_for("staging").one(BUDGET)["inputs"]
    tags = [operand["tags"] for operand in budget["filterExpression"]["ands"]]
    assert [(t["key"], t["values"], t["matchOptions"]) for t in tags] == [
        ("project", ["mlops"], ["EQUALS"]),
        ("environment", ["staging"], ["EQUALS"]),
    ]
    assert budget["metrics"] == "UnblendedCost"  # a filter expression requires metrics


def test_the_budget_notifies_the_topic_at_each_actual_and_forecasted_threshold(plan_for) -> None:
    plan = plan_for(
        "prod",
        "budget.actualThresholdsPercent=[60, 90]",
        "budget.forecastedThresholdsPercent=[100, 120]",
    )
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    notifications = plan.one(BUDGET)["inputs"]["notifications"]
    assert {(n["notificationType"], n["threshold"]) for n in notifications} == {
        ("ACTUAL", 60.0),
        ("ACTUAL", 90.0),
        ("FORECASTED", 100.0),
        ("FORECASTED", 120.0),
    }
    for notification in notifications:
        assert notification["thresholdType"] == "PERCENTAGE"
        assert notification["comparisonOperator"] == "GREATER_THAN"
        assert notification["subscriberSnsTopicArns"] == [topic]


def test_budgets_of_this_account_may_publish_to_the_topic_before_the_budget_exists(
    plan_for,
) -> None:
    plan = plan_for("prod")
    topic_policy = plan.one("aws:sns/topicPolicy:TopicPolicy")
    statement = next(
        s for s in policy(topic_policy)["Statement"] if s["Sid"] == "BudgetsOfThisAccountPublish"
    )
    assert statement["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:budgets::123456789012:*"},
    }
    assert topic_policy["urn"] in plan.one(BUDGET)["dependencies"]


def test_without_a_budget_budgets_may_not_publish(plan_for) -> None:
    plan = plan_for("dev", "budget.enabled=false")
    assert not plan.of_type(BUDGET)
    sids = {s["Sid"] for s in policy(plan.one("aws:sns/topicPolicy:TopicPolicy"))["Statement"]}
    assert "BudgetsOfThisAccountPublish" not in sids
