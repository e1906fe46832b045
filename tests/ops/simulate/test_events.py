"""Events as AWS sends them match the plan's rules; deliveries repeat and arrive out of order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from moto.events.models import EventPattern

from infra.plan.engine import Plan
from ops.local.alarm_evaluation import alarm_parameters
from ops.simulate.events import alarm_event, package_event
from tests.ops.simulate.conftest import PINNED

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def rule(plan: Plan, name: str) -> EventPattern:
    found = plan.one("aws:cloudwatch/eventRule:EventRule", name)
    return EventPattern.load(found["inputs"]["eventPattern"])


def as_delivered(entry: dict) -> dict:
    """A PutEvents entry as EventBridge hands it to a rule: the event envelope."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": entry["Time"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": entry["Resources"],
        "detail": json.loads(entry["Detail"]),
    }


def drift_alarm(plan: Plan) -> dict:
    found = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "mlops-prod-drift-alarm")
    return alarm_parameters(found["inputs"])


def test_the_drift_alarm_entering_alarm_matches_the_retrain_rule(prod_plan: Plan) -> None:
    entry = alarm_event(
        "us-east-1", "123456789012", drift_alarm(prod_plan), "OK", "ALARM", "r", NOW
    )
    assert rule(prod_plan, "mlops-prod-retrain-on-drift").matches_event(as_delivered(entry))


def test_the_drift_alarm_returning_to_ok_retrains_nothing(prod_plan: Plan) -> None:
    entry = alarm_event(
        "us-east-1", "123456789012", drift_alarm(prod_plan), "ALARM", "OK", "r", NOW
    )
    assert not rule(prod_plan, "mlops-prod-retrain-on-drift").matches_event(as_delivered(entry))


def test_an_approval_matches_the_approval_rule_and_a_registration_does_not(
    prod_plan: Plan,
) -> None:
    package = {
        "ModelPackageGroupName": "mlops-prod-fraud-models",
        "ModelPackageVersion": 3,
        "ModelPackageArn": PINNED,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
        "CreationTime": NOW,
    }
    approved = as_delivered(package_event(package, NOW))
    pending = as_delivered(
        package_event({**package, "ModelApprovalStatus": "PendingManualApproval"}, NOW)
    )
    approvals = rule(prod_plan, "mlops-prod-model-package-approved")
    assert approvals.matches_event(approved) and not approvals.matches_event(pending)
    assert rule(prod_plan, "mlops-prod-model-package-state").matches_event(pending)
    assert approved["detail"]["CreationTime"] == "2026-03-02T12:00:00Z"
