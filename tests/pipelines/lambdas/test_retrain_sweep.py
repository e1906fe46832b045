"""An alarm refused within the cool-down and still in ALARM after it starts one run (moto).

CloudWatch sends an event only when an alarm's state changes: an alarm that
entered ALARM during the cool-down and stays there would otherwise never be
heard again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from pipelines.lambdas import retrain_gate
from pipelines.lambdas.cooldown_lock import CooldownLock
from pipelines.lambdas.retrain_gate import SWEEP_SOURCE, handle_event
from tests.pipelines.lambdas import test_retrain_gate as gate_tests
from tests.pipelines.lambdas.test_retrain_gate import (
    COOLDOWN,
    PIPELINE,
    SETTINGS,
    T0,
    TABLE,
    alarm_event,
    event_id,
    executions,
    run_kind,
)

pipeline, dynamodb = gate_tests.pipeline, gate_tests.dynamodb  # the same fixtures
DRIFT, QUALITY = "mlops-dev-drift-alarm", "mlops-dev-quality-recall"
SWEEP = {"source": SWEEP_SOURCE, "detail-type": "Retrain Sweep", "detail": {}}


@pytest.fixture
def cloudwatch(sagemaker) -> Any:
    """The two retrain alarms, inside the same moto as ``sagemaker``."""
    client = boto3.client("cloudwatch", region_name="us-east-1")
    for name in (DRIFT, QUALITY):
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="mlops",
            MetricName=name,
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    return client


def set_state(cloudwatch: Any, name: str, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def handle(sagemaker, dynamodb, cloudwatch, event: dict, now) -> retrain_gate.Decision:
    return handle_event(
        event, SETTINGS, sagemaker=sagemaker, dynamodb=dynamodb, cloudwatch=cloudwatch, now=now
    )


def test_an_alarm_refused_in_the_cool_down_and_still_in_alarm_starts_one_run_after_it(
    sagemaker, dynamodb, pipeline, cloudwatch
) -> None:
    assert handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(1)), T0).started
    late = T0 + COOLDOWN - timedelta(minutes=1)
    refused = handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(2), alarm=QUALITY), late)
    assert not refused.started and "waits for the sweep" in refused.reason
    set_state(cloudwatch, QUALITY, "ALARM")
    early = handle(sagemaker, dynamodb, cloudwatch, SWEEP, T0 + COOLDOWN - timedelta(seconds=1))
    assert not early.started and "wait for the cool-down to end" in early.reason
    after = T0 + COOLDOWN + timedelta(minutes=15)
    sweeps = [handle(sagemaker, dynamodb, cloudwatch, SWEEP, after) for _ in range(3)]
    assert [s.started for s in sweeps] == [True, False, False]
    assert len(executions(sagemaker)) == 2
    assert run_kind(sagemaker, sweeps[0].execution_arn) == "alarm"
    lease = CooldownLock(dynamodb, TABLE).current(PIPELINE)
    assert lease is not None and lease.alarm == QUALITY and lease.waiting == frozenset()
    later = handle(sagemaker, dynamodb, cloudwatch, SWEEP, after + timedelta(hours=1))
    assert not later.started and len(executions(sagemaker)) == 2


def test_waiting_alarms_that_left_alarm_start_nothing_and_are_forgotten(
    sagemaker, dynamodb, pipeline, cloudwatch
) -> None:
    handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(1)), T0)
    handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(2), alarm=QUALITY), T0)
    set_state(cloudwatch, QUALITY, "OK")
    swept = handle(sagemaker, dynamodb, cloudwatch, SWEEP, T0 + COOLDOWN)
    assert not swept.started and "left ALARM" in swept.reason
    assert CooldownLock(dynamodb, TABLE).current(PIPELINE).waiting == frozenset()
    assert len(executions(sagemaker)) == 1


def test_a_sweep_with_nothing_waiting_starts_nothing(
    sagemaker, dynamodb, pipeline, cloudwatch
) -> None:
    assert not handle(sagemaker, dynamodb, cloudwatch, SWEEP, T0).started
    handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(1)), T0)
    set_state(cloudwatch, DRIFT, "ALARM")
    duplicate = handle(sagemaker, dynamodb, cloudwatch, alarm_event(event_id(1)), T0)
    assert not duplicate.started  # the holder's own duplicate does not wait for a sweep
    assert not handle(sagemaker, dynamodb, cloudwatch, SWEEP, T0 + COOLDOWN).started
    assert len(executions(sagemaker)) == 1
