"""Retraining on an alarm starts at most one pipeline run per cool-down (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.definitions.training import build_definition
from pipelines.lambdas import retrain_gate
from pipelines.lambdas.cooldown_lock import CooldownLock
from pipelines.lambdas.retrain_gate import GateSettings, handle_alarm
from pipelines.lambdas.start_pipeline import RUN_KIND_PARAMETER, SCHEDULED, start_training
from tests.factories import make_spec

PIPELINE = "mlops-dev-training"
TABLE = "mlops-dev-retrain-gate-lock"
COOLDOWN = timedelta(hours=6)
SETTINGS = GateSettings(PIPELINE, COOLDOWN, TABLE, stale_after=timedelta(minutes=2))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alarm_event(event_id: str, state: str = "ALARM", alarm: str = "mlops-dev-drift-alarm") -> dict:
    """An alarm state change as CloudWatch sends it to EventBridge (the documented sample's shape).

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    """
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-03-02T09:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-03-02"},
            "previousState": {"value": "OK"},
        },
    }


def event_id(number: int) -> str:
    return f"6b7b3a54-0000-4000-8000-{number:012d}"


@pytest.fixture
def pipeline(sagemaker) -> str:
    sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps(build_definition(make_spec())),
        RoleArn="arn:aws:iam::123456789012:role/mlops-dev-pipeline",
    )
    return PIPELINE


@pytest.fixture
def dynamodb(sagemaker) -> Any:
    """The lease table, keyed as the plan keys it (inside the same moto as ``sagemaker``)."""
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "lock", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "lock", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def deliver(sagemaker, dynamodb, event: dict, now: datetime) -> retrain_gate.Decision:
    return handle_alarm(event, SETTINGS, sagemaker=sagemaker, dynamodb=dynamodb, now=now)


def executions(sagemaker) -> list[dict]:
    return sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]


def run_kind(sagemaker, arn: str) -> str:
    found = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in found["PipelineParameters"]}[RUN_KIND_PARAMETER]


def test_a_storm_of_alarms_starts_exactly_one_execution(sagemaker, dynamodb, pipeline) -> None:
    storm = [alarm_event(event_id(n % 2)) for n in range(5)]  # two changes, each delivered again
    decisions = [
        deliver(sagemaker, dynamodb, e, T0 + timedelta(minutes=i)) for i, e in enumerate(storm)
    ]
    assert [d.started for d in decisions] == [True, False, False, False, False]
    assert len(executions(sagemaker)) == 1
    assert {d.execution_arn for d in decisions} == {
        executions(sagemaker)[0]["PipelineExecutionArn"]
    }


def test_after_the_cool_down_the_next_alarm_starts_again(sagemaker, dynamodb, pipeline) -> None:
    first = deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0)
    inside = deliver(sagemaker, dynamodb, alarm_event(event_id(2)), T0 + COOLDOWN - timedelta(1))
    second = deliver(sagemaker, dynamodb, alarm_event(event_id(3)), T0 + COOLDOWN)
    assert (first.started, inside.started, second.started) == (True, False, True)
    assert len(executions(sagemaker)) == 2


def test_scheduled_runs_within_the_cool_down_leave_it_to_the_alarms(
    sagemaker, dynamodb, pipeline
) -> None:
    # The hourly schedule starts six runs within a 360-minute cool-down; none of them counts.
    for _ in range(6):
        start_training(sagemaker, pipeline, kind=SCHEDULED)
    decision = deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0)
    assert decision.started
    assert run_kind(sagemaker, decision.execution_arn) == "alarm"
    assert sorted(
        run_kind(sagemaker, e["PipelineExecutionArn"]) for e in executions(sagemaker)
    ) == [
        "alarm",
        *["scheduled"] * 6,
    ]


def test_the_run_it_starts_says_alarm_so_its_champion_step_gates_it_like_any(
    sagemaker, dynamodb, pipeline
) -> None:
    decision = deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0)
    found = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=decision.execution_arn
    )["PipelineParameters"]
    assert found == [{"Name": "RunKind", "Value": "alarm"}]
    steps = {step["Name"] for step in build_definition(make_spec())["Steps"]}
    assert "Champion" in steps


def test_only_an_alarm_entering_alarm_starts_anything(sagemaker, dynamodb, pipeline) -> None:
    back_to_ok = deliver(sagemaker, dynamodb, alarm_event(event_id(1), state="OK"), T0)
    other = deliver(sagemaker, dynamodb, {**alarm_event(event_id(2)), "detail-type": "x"}, T0)
    assert not back_to_ok.started and not other.started
    assert executions(sagemaker) == []


def test_a_failed_start_gives_the_lease_back_for_the_retry(
    sagemaker, dynamodb, pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    real = sagemaker.start_pipeline_execution

    def throttled(**request: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "StartPipelineExecution")

    monkeypatch.setattr(sagemaker, "start_pipeline_execution", throttled)
    with pytest.raises(ClientError):
        deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0)
    monkeypatch.setattr(sagemaker, "start_pipeline_execution", real)
    retried = deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0 + timedelta(minutes=1))
    assert retried.started and len(executions(sagemaker)) == 1


def test_a_lease_whose_holder_died_before_starting_is_taken_over_with_its_token(
    sagemaker, dynamodb, pipeline
) -> None:
    lock = CooldownLock(dynamodb, TABLE)
    assert lock.acquire(PIPELINE, event_id(1), T0, COOLDOWN, "mlops-dev-drift-alarm")
    # Its invocation timed out here. Within the function's timeout the lease is still live:
    early = deliver(sagemaker, dynamodb, alarm_event(event_id(2)), T0 + timedelta(seconds=30))
    assert not early.started and executions(sagemaker) == []
    late = deliver(sagemaker, dynamodb, alarm_event(event_id(2)), T0 + timedelta(minutes=5))
    assert late.started and len(executions(sagemaker)) == 1
    lease = lock.current(PIPELINE)
    assert lease is not None and lease.holder == event_id(1)  # the dead holder's token is reused
    assert lease.execution_arn == late.execution_arn


def test_a_duplicate_of_the_holders_event_before_its_run_is_recorded_is_retried_later(
    sagemaker, dynamodb, pipeline
) -> None:
    lock = CooldownLock(dynamodb, TABLE)
    assert lock.acquire(PIPELINE, event_id(1), T0, COOLDOWN, "mlops-dev-drift-alarm")
    with pytest.raises(retrain_gate.GateBusyError, match="retry this delivery later"):
        deliver(sagemaker, dynamodb, alarm_event(event_id(1)), T0 + timedelta(seconds=5))
    assert executions(sagemaker) == []


def test_the_handler_reads_its_settings_from_the_environment(
    sagemaker, dynamodb, pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_NAME", pipeline)
    monkeypatch.setenv("RETRAIN_COOLDOWN_MINUTES", "360")
    monkeypatch.setenv("RETRAIN_LOCK_TABLE", TABLE)
    monkeypatch.setenv("LEASE_STALE_SECONDS", "120")
    event = alarm_event(event_id(1))
    assert retrain_gate.handler(event, None)["started"] is True
    assert retrain_gate.handler(alarm_event(event_id(2)), None)["started"] is False
    assert len(executions(sagemaker)) == 1


def test_an_event_without_an_id_gets_a_token_from_its_body() -> None:
    event = {"detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": "a"}}
    token = retrain_gate.event_token(event)
    assert token == retrain_gate.event_token(dict(event)) and len(token) == 64
    assert retrain_gate.event_token(alarm_event(event_id(7))) == event_id(7)
