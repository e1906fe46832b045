"""Each EventBridge rule against AWS's documented sample events: its own event and no other."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from infra.plan.engine import Plan
from infra.plan.validate.events import check_rules, matches, sample, stack_events
from ml.schema import FEATURE_COLUMNS
from tests.validators.conftest import STACKS, stack_plan

RULE = "aws:cloudwatch/eventRule:EventRule"


def matched(plan: Plan, rule: str) -> set[str]:
    """Labels (kind, owner, state) of the documented events the rule's pattern matches."""
    pattern = plan.one(RULE, rule)["inputs"]["eventPattern"]
    return {event.label for event in stack_events(plan) if matches(pattern, event.body)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_matches_its_event_and_no_other(report_of, stack: str) -> None:
    report = report_of(stack)
    failures = [
        (f.check_id, f.resource, f.detail)
        for f in report.failures
        if f.source == "validator:events"
    ]
    assert failures == []
    checked = [r for r in report.results if r.source == "validator:events"]
    assert len(checked) == 2 * len(stack_plan(stack).of_type(RULE)) > 0


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_retraining_starts_on_the_drift_alarm_entering_alarm_only(stack: str) -> None:
    """The largest PSI's alarm and each feature's, entering ALARM; nothing else."""
    features = {f"drift-feature-{name.replace('_', '-')}" for name in FEATURE_COLUMNS}
    assert matched(stack_plan(stack), f"mlops-{stack}-retrain-on-drift") == {
        f"alarm_state_change mlops-{stack}-{alarm} ALARM" for alarm in {"drift-alarm", *features}
    }


def test_retraining_starts_on_a_quality_floor_entering_alarm_only() -> None:
    assert matched(stack_plan("prod"), "mlops-prod-retrain-on-quality") == {
        f"alarm_state_change mlops-prod-quality-{floor} ALARM" for floor in ("recall", "precision")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_delivery_hears_approvals_of_its_own_group_only(stack: str) -> None:
    assert matched(stack_plan(stack), f"mlops-{stack}-model-package-approved") == {
        f"model_package_state_change mlops-{stack}-fraud-models Approved"
    }


def test_the_topic_hears_every_state_change_of_its_own_group() -> None:
    assert matched(stack_plan("prod"), "mlops-prod-model-package-state") == {
        f"model_package_state_change mlops-prod-fraud-models {state}"
        for state in ("Approved", "Rejected", "PendingManualApproval")
    }


def test_the_samples_are_aws_documented_events() -> None:
    for kind, detail_type in (
        ("alarm_state_change", "CloudWatch Alarm State Change"),
        ("model_package_state_change", "SageMaker Model Package State Change"),
        (
            "pipeline_execution_status_change",
            "SageMaker Model Building Pipeline Execution Status Change",
        ),
    ):
        event = sample(kind)
        assert event["detail-type"] == detail_type and isinstance(event["source"], str)
        assert event["version"] == "0" and event["resources"]


def with_pattern(rule: str, pattern: dict) -> Plan:
    plan = stack_plan("prod")
    copied = dataclasses.replace(plan, resources=copy.deepcopy(plan.resources))
    copied.one(RULE, rule)["inputs"]["eventPattern"] = json.dumps(pattern)
    return copied


def failed_checks(plan: Plan) -> set[tuple[str, str]]:
    return {(r.check_id, r.resource) for r in check_rules(plan)[0] if r.status == "failed"}


def test_a_pattern_without_a_detail_type_matches_other_events_and_fails() -> None:
    plan = with_pattern("mlops-prod-model-package-state", {"source": ["aws.sagemaker"]})
    address = "aws_cloudwatch_event_rule.mlops-prod-model-package-state"
    assert ("EVENTS_MATCHES_NO_OTHER", address) in failed_checks(plan)


def test_a_pattern_with_a_misspelt_field_matches_nothing_and_fails() -> None:
    plan = with_pattern(
        "mlops-prod-retrain-on-drift",
        {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"State": {"value": ["ALARM"]}},
        },
    )
    address = "aws_cloudwatch_event_rule.mlops-prod-retrain-on-drift"
    assert ("EVENTS_MATCHES_ITS_EVENT", address) in failed_checks(plan)


def test_a_pattern_for_any_alarm_of_the_account_fails() -> None:
    plan = with_pattern(
        "mlops-prod-retrain-on-drift",
        {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"state": {"value": ["ALARM"]}},
        },
    )
    address = "aws_cloudwatch_event_rule.mlops-prod-retrain-on-drift"
    assert ("EVENTS_MATCHES_NO_OTHER", address) in failed_checks(plan)
