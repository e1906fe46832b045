"""Alerts reach people: subscriptions from config, dead letters kept and alarmed, queue alarms."""

from __future__ import annotations

import json

from infra.components.dead_letters import RETENTION_SECONDS
from tests.infra.conftest import policy

ARN = (
    "serving.modelPackageArn="
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"
)
EMAILS = "monitoring.alarmEmails=[oncall@example.com, ml-team@example.com]"
HOOKS = "monitoring.alarmHttpsEndpoints=[https://chat.example.com/hooks/mlops]"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
RULE = "aws:cloudwatch/eventRule:EventRule"
SCHEDULE = "aws:scheduler/schedule:Schedule"
QUEUE = "aws:sqs/queue:Queue"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DLQ = "mlops-prod-dead-letters"


def dead_letter_policy(plan) -> dict[str, dict]:
    document = policy(plan.one("aws:sqs/queuePolicy:QueuePolicy", f"{DLQ}-policy"))
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_every_event_target_names_the_dead_letter_queue_and_a_retry_policy(plan_for) -> None:
    plan = plan_for("prod", ARN)
    dlq_arn = plan.one(QUEUE, DLQ)["outputs"]["arn"]
    targets = plan.of_type(TARGET)
    # registry state, retraining on drift and on quality, failed monitoring runs
    assert len(targets) == 4
    for target in targets:
        assert target["inputs"].get("deadLetterConfig") == {"arn": dlq_arn}, target["name"]
        assert target["inputs"]["retryPolicy"]["maximumRetryAttempts"] >= 1, target["name"]


def test_every_schedule_names_the_dead_letter_queue_and_its_role_may_send_there(plan_for) -> None:
    plan = plan_for("prod", ARN)
    dlq_arn = plan.one(QUEUE, DLQ)["outputs"]["arn"]
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    for schedule in plan.of_type(SCHEDULE):
        target = schedule["inputs"]["target"]
        assert target.get("deadLetterConfig") == {"arn": dlq_arn}, schedule["name"]
        role = next(
            r for r in plan.of_type("aws:iam/role:Role") if r["outputs"]["arn"] == target["roleArn"]
        )
        grant = next(
            p
            for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
            if p["inputs"]["role"] == role["outputs"]["id"]
            and p["inputs"]["name"] == "send-dead-letters"
        )
        statements = policy(grant)["Statement"]
        assert {"Action": "sqs:SendMessage", "Resource": dlq_arn}.items() <= statements[0].items()
        assert statements[1]["Resource"] == key_arn
        assert grant["urn"] in schedule["dependencies"]


def test_the_dead_letter_policy_lets_exactly_the_stacks_rules_send(plan_for) -> None:
    plan = plan_for("prod", ARN)
    rules_with_targets = {t["inputs"]["rule"] for t in plan.of_type(TARGET)}
    rule_arns = {r["outputs"]["arn"] for r in plan.of_type(RULE) if r["name"] in rules_with_targets}
    events = dead_letter_policy(plan)["RulesOfThisStackSendFailedEvents"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == "sqs:SendMessage"
    assert set(events["Condition"]["ArnEquals"]["aws:SourceArn"]) == rule_arns
    assert events["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_the_dead_letter_policy_lets_the_topic_schedule_and_gate_roles_send(plan_for) -> None:
    plan = plan_for("prod", ARN, EMAILS)
    statements = dead_letter_policy(plan)
    sns = statements["TheStackTopicRedrivesFailedDeliveries"]
    assert sns["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sns["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    ]
    roles = statements["RolesOfThisStackSendFailedInvocations"]
    assert set(roles["Principal"]["AWS"]) == {
        *(s["inputs"]["target"]["roleArn"] for s in plan.of_type(SCHEDULE)),
        plan.one("aws:lambda/function:Function")["inputs"]["role"],
    }
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_without_subscriptions_sns_may_not_send_dead_letters(plan_for) -> None:
    plan = plan_for("prod", ARN)
    assert not plan.of_type(SUBSCRIPTION)
    assert "TheStackTopicRedrivesFailedDeliveries" not in dead_letter_policy(plan)


def test_the_dead_letter_queue_keeps_messages_two_weeks_under_the_stack_key(plan_for) -> None:
    plan = plan_for("prod")
    queue = plan.one(QUEUE, DLQ)["inputs"]
    assert queue["messageRetentionSeconds"] == RETENTION_SECONDS == 14 * 24 * 3600
    assert queue["kmsMasterKeyId"] == plan.one("aws:kms/key:Key")["outputs"]["arn"]


def test_every_queue_has_an_alarm_to_the_stack_topic(plan_for) -> None:
    plan = plan_for("prod", ARN)
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    sqs_alarms = [
        a["inputs"] for a in plan.of_type(ALARM) if a["inputs"].get("namespace") == "AWS/SQS"
    ]
    for queue in plan.of_type(QUEUE):
        name = queue["outputs"]["name"]
        watching = [a for a in sqs_alarms if a["dimensions"] == {"QueueName": name}]
        assert watching, f"no alarm watches {name}"
        assert all(a["alarmActions"] == [topic] and a["actionsEnabled"] for a in watching)


def test_one_dead_letter_raises_the_alarm(plan_for) -> None:
    alarm = plan_for("prod").one(ALARM, f"{DLQ}-waiting")["inputs"]
    assert alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0


def test_no_queue_of_approvals_waits_for_a_consumer_nor_alarms_a_day_later(plan_for) -> None:
    plan = plan_for("prod")
    assert [q["name"] for q in plan.of_type(QUEUE)] == [DLQ]
    assert not [a for a in plan.of_type(ALARM) if "model-approvals" in a["name"]]
    # An approval GitHub did not accept is a dead letter, and one dead letter is an alarm.
    alarm = plan.one(ALARM, f"{DLQ}-waiting")["inputs"]
    assert alarm["dimensions"] == {"QueueName": plan.one(QUEUE, DLQ)["outputs"]["name"]}


def test_subscriptions_come_from_config_and_redrive_to_the_dead_letter_queue(plan_for) -> None:
    plan = plan_for("prod", EMAILS, HOOKS)
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    dlq_arn = plan.one(QUEUE, DLQ)["outputs"]["arn"]
    subscriptions = {
        (s["inputs"]["protocol"], s["inputs"]["endpoint"]): s["inputs"]
        for s in plan.of_type(SUBSCRIPTION)
    }
    assert set(subscriptions) == {
        ("email", "oncall@example.com"),
        ("email", "ml-team@example.com"),
        ("https", "https://chat.example.com/hooks/mlops"),
    }
    for inputs in subscriptions.values():
        assert inputs["topic"] == topic
        assert json.loads(inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq_arn}


def test_reordering_the_addresses_keeps_every_subscription_name(plan_for) -> None:
    reordered = "monitoring.alarmEmails=[ml-team@example.com, oncall@example.com]"
    names = {s["name"] for s in plan_for("prod", EMAILS).of_type(SUBSCRIPTION)}
    assert names == {s["name"] for s in plan_for("prod", reordered).of_type(SUBSCRIPTION)}


def test_the_stack_key_lets_sns_and_budgets_use_it_for_this_account_only(plan_for) -> None:
    key = policy(plan_for("prod").one("aws:kms/key:Key"))
    statement = next(
        s for s in key["Statement"] if "sns.amazonaws.com" in s["Principal"].get("Service", [])
    )
    assert set(statement["Principal"]["Service"]) == {"sns.amazonaws.com", "budgets.amazonaws.com"}
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_every_function_sends_failed_invocations_to_the_dead_letter_queue(plan_for) -> None:
    plan = plan_for("prod", ARN)
    dlq_arn = plan.one(QUEUE, DLQ)["outputs"]["arn"]
    functions = plan.of_type("aws:lambda/function:Function")
    assert functions
    for function in functions:
        assert function["inputs"]["deadLetterConfig"] == {"targetArn": dlq_arn}
