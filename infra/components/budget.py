"""The stack's monthly cost budget: AWS Budgets watches what the stack's tagged resources cost.

The budget counts the cost of resources tagged ``project=mlops`` and
``environment=<stack>`` (a filter expression with both tags, so stacks sharing
an account each see their own spend) and notifies the stack topic at each
configured percentage of the limit, on actual and on forecasted spend.
The tags must be activated as cost allocation tags in the payer account's
Billing console before Budgets can filter on them.

AWS contract:
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Expression.html,
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Notification.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import PROJECT, StackContext
from infra.components.notifications import Notifications
from infra.config.alerts import Budget as BudgetSettings


@dataclass(frozen=True)
class CostBudgetArgs:
    """The limit and thresholds, and the topic (with its policy) notifications go to."""

    settings: BudgetSettings
    notifications: Notifications


class CostBudget(pulumi.ComponentResource):
    """One monthly COST budget per stack, announced on the stack topic."""

    budget: aws.budgets.Budget

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: CostBudgetArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:CostBudget", name, None, opts)
        settings, notifications = args.settings, args.notifications
        environment = context.config.environment.value
        budget_name = context.name("monthly-cost")
        thresholds: list[dict[str, Any]] = [
            {
                "comparison_operator": "GREATER_THAN",
                "notification_type": kind,
                "threshold": float(threshold),
                "threshold_type": "PERCENTAGE",
                "subscriber_sns_topic_arns": [notifications.topic.arn],
            }
            for kind, percentages in (
                ("ACTUAL", settings.actual_thresholds_percent),
                ("FORECASTED", settings.forecasted_thresholds_percent),
            )
            for threshold in percentages
        ]
        self.budget = aws.budgets.Budget(
            budget_name,
            name=budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{settings.monthly_limit_usd:.2f}",
            limit_unit="USD",
            metrics="UnblendedCost",
            filter_expression={
                "ands": [
                    {"tags": {"key": "project", "values": [PROJECT], "match_options": ["EQUALS"]}},
                    {
                        "tags": {
                            "key": "environment",
                            "values": [environment],
                            "match_options": ["EQUALS"],
                        }
                    },
                ]
            },
            notifications=thresholds,
            tags=context.tags("monitoring"),
            # The topic policy must let Budgets publish before a notification is tried.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[notifications.topic_policy]),
        )
        self.register_outputs({"budgetName": self.budget.name})
