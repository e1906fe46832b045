"""Monitoring cannot fail silently: the failed-run rule, and staleness alarms that really fire."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.config import ConfigError
from pipelines import metrics
from pipelines.definitions.monitoring import step_arguments

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
ARN = f"serving.modelPackageArn={PACKAGE}"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
MONITORING_BUCKET = "mlops-prod-monitoring-123456789012-us-east-1"

# AWS's sample "SageMaker Model Building Pipeline Execution Status Change" event
# (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html),
# its pipeline replaced by the stack's monitoring pipeline.
SAMPLE = {
    "version": "0",
    "id": "315c1398-40ff-a850-213b-158f73kd93ir",
    "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
    "source": "aws.sagemaker",
    "account": "111122223333",
    "time": "2021-03-15T16:10:11Z",
    "region": "us-east-1",
    "resources": [
        "arn:aws:sagemaker:us-east-1:111122223333:pipeline/myPipeline-123",
        "arn:aws:sagemaker:us-east-1:111122223333:pipeline/myPipeline-123/execution/p4jn9xou8a8s",
    ],
    "detail": {
        "pipelineExecutionDisplayName": "SomeDisplayName",
        "currentPipelineExecutionStatus": "Succeeded",
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": "2021-03-15T16:03:13Z",
        "executionEndTime": "2021-03-15T16:10:10Z",
        "pipelineExecutionDescription": "SomeDescription",
        "pipelineArn": "arn:aws:sagemaker:us-east-1:111122223333:pipeline/myPipeline-123",
        "pipelineExecutionArn": (
            "arn:aws:sagemaker:us-east-1:111122223333:pipeline/myPipeline-123/execution/p4jn9xou8a8s"
        ),
    },
}


def status_change(pipeline_arn: str, status: str) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    event["detail"].update(pipelineArn=pipeline_arn, currentPipelineExecutionStatus=status)
    event["detail"]["pipelineExecutionArn"] = f"{pipeline_arn}/execution/p4jn9xou8a8s"
    event["resources"] = [pipeline_arn, event["detail"]["pipelineExecutionArn"]]
    return event


def matches(pattern: str, event: dict[str, Any]) -> bool:
    from moto.events.models import EventPattern

    return EventPattern.load(pattern).matches_event(event)


def test_a_failed_monitoring_run_and_nothing_else_reaches_the_topic(plan_for) -> None:
    plan = plan_for("prod", ARN)
    monitoring = plan.one(PIPELINE, "mlops-prod-monitoring")["outputs"]["arn"]
    training = plan.one(PIPELINE, "mlops-prod-training")["outputs"]["arn"]
    pattern = plan.one(RULE, "mlops-prod-monitoring-failed")["inputs"]["eventPattern"]
    assert matches(pattern, status_change(monitoring, "Failed"))
    for other in (
        status_change(monitoring, "Succeeded"),
        status_change(monitoring, "Stopped"),
        status_change(training, "Failed"),  # the training pipeline has its own failure alarm
    ):
        assert not matches(pattern, other)


def test_the_failure_goes_to_the_topic_in_words_with_dead_letters(plan_for) -> None:
    plan = plan_for("prod", ARN)
    target = plan.one(
        "aws:cloudwatch/eventTarget:EventTarget", "mlops-prod-monitoring-failed-to-topic"
    )
    inputs = target["inputs"]
    assert inputs["arn"] == plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    queue = plan.one("aws:sqs/queue:Queue", "mlops-prod-dead-letters")["outputs"]["arn"]
    assert inputs["deadLetterConfig"] == {"arn": queue}
    paths = inputs["inputTransformer"]["inputPaths"]
    assert paths == {"execution": "$.detail.pipelineExecutionArn", "time": "$.time"}
    assert all(p.removeprefix("$.").split(".")[0] in SAMPLE for p in paths.values())
    assert "mlops-prod-monitoring failed" in inputs["inputTransformer"]["inputTemplate"]


def test_every_monitoring_job_has_a_staleness_alarm_on_the_heartbeat_it_sends(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.staleAfterPeriods=4")
    definition = json.loads(
        plan.one(PIPELINE, "mlops-prod-monitoring")["inputs"]["pipelineDefinition"]
    )
    for step, job in (("Drift", "drift"), ("Quality", "quality"), ("Feedback", "feedback")):
        alarm = plan.one(ALARM, f"mlops-prod-monitoring-{job}-stale")["inputs"]
        endpoint = step_arguments(definition, step)["endpoint"]
        heartbeat, filled = alarm["metricQueries"]
        metric = heartbeat["metric"]
        assert metric["namespace"] == metrics.MONITORING_NAMESPACE
        assert metric["metricName"] == metrics.HEARTBEAT
        assert metric["dimensions"] == metrics.heartbeat_dimensions(endpoint, job)
        assert (metric["stat"], metric["period"], heartbeat["returnData"]) == (
            "SampleCount",
            3600,
            False,
        )
        # a silent period is a 0, so silence counts from its first period (not past the range)
        assert filled["expression"] == f"FILL({heartbeat['id']}, 0)" and filled["returnData"]
        assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
        assert alarm["treatMissingData"] == "breaching"  # a job that never sent one
        assert "period" not in alarm and "metricName" not in alarm
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (4, 4)


def test_the_staleness_period_follows_the_monitoring_schedule(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.driftSchedule=rate(6 hours)")
    alarm = plan.one(ALARM, "mlops-prod-monitoring-drift-stale")["inputs"]
    assert alarm["metricQueries"][0]["metric"]["period"] == 6 * 3600


def test_a_staleness_longer_than_cloudwatch_evaluates_is_one_clear_line(plan_for) -> None:
    with pytest.raises(ConfigError, match=r"staleAfterPeriods.*at most 7 periods of 86400 s"):
        plan_for(
            "prod", ARN, "monitoring.driftSchedule=rate(1 day)", "monitoring.staleAfterPeriods=8"
        )


def test_without_a_monitoring_pipeline_there_is_nothing_to_watch(plan_for) -> None:
    plan = plan_for("dev")
    assert not [r for r in plan.of_type(ALARM) if r["name"].endswith("-stale")]
    assert not [r for r in plan.of_type(RULE) if r["name"].endswith("-monitoring-failed")]


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def test_a_broken_monitoring_job_raises_its_alarm_within_the_configured_staleness(
    plan_for, cloudwatch, tmp_path, monkeypatch
) -> None:
    """The feedback step runs hourly (its real entry point, heartbeat and all), then breaks; the
    planned alarm, evaluated as CloudWatch does on moto's metrics, is OK while heartbeats come
    and in ALARM once ``staleAfterPeriods`` whole periods passed without one."""
    import boto3

    from ops.local.alarm_evaluation import alarm_parameters, evaluate_alarm
    from pipelines.jobs.feedback import main

    plan = plan_for("prod", ARN)
    planned = plan.one(ALARM, "mlops-prod-monitoring-feedback-stale")["inputs"]
    cloudwatch.put_metric_alarm(**alarm_parameters(planned))
    periods = plan.config.monitoring.stale_after_periods
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=MONITORING_BUCKET)
    start = datetime(2026, 3, 2, 0, 5, tzinfo=UTC)

    def run_at(when: datetime) -> int:
        return main(
            [
                "--endpoint", "mlops-prod-endpoint", "--bucket", MONITORING_BUCKET,
                "--capture-prefix", "data-capture/mlops-prod-endpoint/primary/",
                "--labels-prefix", "labels/mlops-prod-endpoint/",
                "--ledger-prefix", "feedback/mlops-prod-endpoint/", "--data-bucket", "data",
                "--now", when.isoformat(), "--out", str(tmp_path / "feedback.json"),
            ]
        )  # fmt: skip

    runs = [start + timedelta(hours=h) for h in range(6)]
    assert [run_at(when) for when in runs] == [0] * 6
    state = evaluate_alarm(cloudwatch, planned["name"], now=runs[-1] + timedelta(minutes=30))
    assert state.state == "OK"
    for item in s3.list_objects_v2(Bucket=MONITORING_BUCKET).get("Contents", []):
        s3.delete_object(Bucket=MONITORING_BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=MONITORING_BUCKET)  # the job breaks: every later run fails
    broken = runs[-1] + timedelta(hours=1)
    assert run_at(broken) == 1
    # The last heartbeat was sent at runs[-1]; staleAfterPeriods periods later, none is left.
    deadline = runs[-1] + timedelta(hours=periods)
    before = evaluate_alarm(cloudwatch, planned["name"], now=deadline)
    after = evaluate_alarm(cloudwatch, planned["name"], now=deadline + timedelta(minutes=1))
    assert before.state == "OK" and after.state == "ALARM"
    assert after.reason.startswith(f"{periods} of {periods} datapoint(s)")
    assert deadline + timedelta(minutes=1) - broken <= timedelta(hours=periods)
