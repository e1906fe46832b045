"""Retraining on an alarm starts at most one pipeline run per cool-down (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.definitions.training import build_definition
from pipelines.lambdas import retrain_gate
from pipelines.lambdas.retrain_gate import start_unless_cooling_down
from tests.factories import make_spec

PIPELINE = "mlops-dev-training"
COOLDOWN = timedelta(hours=6)


@pytest.fixture
def pipeline(sagemaker) -> str:
    sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps(build_definition(make_spec())),
        RoleArn="arn:aws:iam::123456789012:role/mlops-dev-pipeline",
    )
    return PIPELINE


def executions(sagemaker) -> list[dict]:
    return sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]


def test_a_storm_of_alarms_starts_exactly_one_execution(sagemaker, pipeline) -> None:
    decisions = [start_unless_cooling_down(sagemaker, pipeline, COOLDOWN) for _ in range(5)]
    assert [d.started for d in decisions] == [True, False, False, False, False]
    assert len(executions(sagemaker)) == 1
    assert {d.execution_arn for d in decisions} == {
        executions(sagemaker)[0]["PipelineExecutionArn"]
    }


def test_after_the_cool_down_the_next_alarm_starts_again(sagemaker, pipeline) -> None:
    first = start_unless_cooling_down(sagemaker, pipeline, COOLDOWN)
    later = datetime.now(UTC) + COOLDOWN + timedelta(minutes=1)
    second = start_unless_cooling_down(sagemaker, pipeline, COOLDOWN, now=later)
    assert first.started and second.started
    assert len(executions(sagemaker)) == 2


def test_a_scheduled_run_within_the_cool_down_counts(sagemaker, pipeline) -> None:
    scheduled = sagemaker.start_pipeline_execution(PipelineName=pipeline)["PipelineExecutionArn"]
    decision = start_unless_cooling_down(sagemaker, pipeline, COOLDOWN)
    assert not decision.started and decision.execution_arn == scheduled
    assert "cool-down" in decision.reason


def test_the_run_it_starts_uses_the_pipelines_defaults_so_its_champion_step_gates_it(
    sagemaker, pipeline
) -> None:
    decision = start_unless_cooling_down(sagemaker, pipeline, COOLDOWN)
    found = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=decision.execution_arn
    )["PipelineParameters"]
    assert found == []
    steps = {step["Name"] for step in build_definition(make_spec())["Steps"]}
    assert "Champion" in steps


def test_the_handler_reads_its_settings_from_the_environment(
    sagemaker, pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_NAME", pipeline)
    monkeypatch.setenv("RETRAIN_COOLDOWN_MINUTES", "360")
    event = {"detail": {"alarmName": "mlops-dev-drift-alarm", "state": {"value": "ALARM"}}}
    assert retrain_gate.handler(event, None)["started"] is True
    assert retrain_gate.handler(event, None)["started"] is False
    assert len(executions(sagemaker)) == 1
