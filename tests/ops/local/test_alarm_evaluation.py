"""The alarm evaluator applies CloudWatch's rule: threshold, M of N, missing data treatment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.local.alarm_evaluation import (
    AlarmEvaluationError,
    alarm_parameters,
    describe_metric_alarms,
    evaluate_alarm,
    evaluate_described,
    judge,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def alarm(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "AlarmName": "a",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 0.25,
        "EvaluationPeriods": 3,
        "TreatMissingData": "notBreaching",
        "StateValue": "OK",
    }
    values.update(changes)
    return values


def test_alarm_when_datapoints_to_alarm_of_the_periods_breach() -> None:
    state, _ = judge(alarm(DatapointsToAlarm=2), [0.3, 0.1, 0.4])
    assert state == "ALARM"


def test_ok_when_fewer_than_datapoints_to_alarm_breach() -> None:
    state, _ = judge(alarm(DatapointsToAlarm=2), [0.3, 0.1, 0.1])
    assert state == "OK"


def test_every_period_must_breach_without_datapoints_to_alarm() -> None:
    assert judge(alarm(), [0.3, 0.3, 0.1])[0] == "OK"
    assert judge(alarm(), [0.3, 0.3, 0.3])[0] == "ALARM"


def test_the_threshold_itself_breaches_only_or_equal_comparisons() -> None:
    one = {"EvaluationPeriods": 1}
    assert judge(alarm(**one), [0.25])[0] == "ALARM"
    assert judge(alarm(**one, ComparisonOperator="GreaterThanThreshold"), [0.25])[0] == "OK"
    assert judge(alarm(**one, ComparisonOperator="LessThanThreshold"), [0.2])[0] == "ALARM"
    assert judge(alarm(**one, ComparisonOperator="LessThanOrEqualToThreshold"), [0.25])[0] == (
        "ALARM"
    )


def test_missing_periods_count_as_breaching_when_so_treated() -> None:
    state, _ = judge(alarm(TreatMissingData="breaching", DatapointsToAlarm=2), [0.3, None, 0.1])
    assert state == "ALARM"


def test_missing_periods_count_as_good_when_not_breaching() -> None:
    assert judge(alarm(), [None, None, None])[0] == "OK"


def test_all_missing_is_insufficient_data_by_default() -> None:
    state, reason = judge(alarm(TreatMissingData="missing", StateValue="ALARM"), [None] * 3)
    assert state == "INSUFFICIENT_DATA" and "no datapoint" in reason


def test_ignore_keeps_the_current_state_when_data_is_missing() -> None:
    assert judge(alarm(TreatMissingData="ignore", StateValue="ALARM"), [None] * 3)[0] == "ALARM"


def test_too_few_datapoints_to_decide_keep_the_state() -> None:
    state, _ = judge(alarm(TreatMissingData="missing", StateValue="ALARM"), [None, 0.1, None])
    assert state == "ALARM"


def test_anomaly_comparisons_are_refused_with_one_line() -> None:
    with pytest.raises(AlarmEvaluationError, match="LessThanLowerThreshold"):
        judge(alarm(ComparisonOperator="LessThanLowerThreshold"), [0.1])


def test_planned_inputs_become_put_metric_alarm_parameters() -> None:
    inputs = {
        "name": "mlops-prod-drift-alarm",
        "namespace": "mlops/drift",
        "metricName": "MaxPSI",
        "dimensions": {"Stack": "prod", "Endpoint": "e"},
        "statistic": "Maximum",
        "period": 3600.0,
        "evaluationPeriods": 1.0,
        "threshold": 0.25,
        "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "treatMissingData": "notBreaching",
        "alarmActions": ["arn:aws:sns:us-east-1:123456789012:topic"],
    }
    parameters = alarm_parameters(inputs)
    assert parameters["Period"] == 3600 and isinstance(parameters["Period"], int)
    assert parameters["Dimensions"] == [
        {"Name": "Endpoint", "Value": "e"},
        {"Name": "Stack", "Value": "prod"},
    ]
    assert "AlarmActions" not in parameters


@mock_aws
def test_evaluate_sets_the_state_from_the_metric_in_cloudwatch() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    dimensions = [{"Name": "Stack", "Value": "prod"}]
    cloudwatch.put_metric_alarm(
        AlarmName="drift",
        Namespace="mlops/drift",
        MetricName="MaxPSI",
        Dimensions=dimensions,
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.25,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.put_metric_data(
        Namespace="mlops/drift",
        MetricData=[
            {"MetricName": "MaxPSI", "Dimensions": dimensions, "Timestamp": NOW, "Value": v}
            for v in (0.1, 0.4)
        ],
    )
    evaluation = evaluate_alarm(cloudwatch, "drift", NOW + timedelta(minutes=1))
    assert (evaluation.state, evaluation.changed, evaluation.datapoints) == ("ALARM", True, (0.4,))
    found = cloudwatch.describe_alarms(AlarmNames=["drift"])["MetricAlarms"][0]
    assert found["StateValue"] == "ALARM"
    later = evaluate_alarm(cloudwatch, "drift", NOW + timedelta(hours=2))
    assert later.state == "OK"  # the hour without data is not breaching


@mock_aws
def test_an_unknown_alarm_is_one_line() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    with pytest.raises(AlarmEvaluationError, match="no metric alarm named 'nope'"):
        evaluate_alarm(cloudwatch, "nope", NOW)


@mock_aws
def test_minute_periods_are_whole_clock_minutes_when_judged_between_minutes() -> None:
    """Two minutes with errors, judged 5 s past the next minute: both periods count."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="5xx",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    off_minute = NOW + timedelta(seconds=5, microseconds=52_409)
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocation5XXErrors",
                "Timestamp": off_minute + timedelta(minutes=m),
                "Value": 2,
            }
            for m in (0, 1)
        ],
    )
    evaluation = evaluate_alarm(cloudwatch, "5xx", off_minute + timedelta(minutes=2))
    assert (evaluation.state, evaluation.datapoints) == ("ALARM", (2.0, 2.0))


@mock_aws
def test_alarms_are_described_a_hundred_names_a_call() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    names = [f"alarm-{number:03d}" for number in range(150)]
    for name in names:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="mlops/drift",
            MetricName="MaxPSI",
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=0.25,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    calls: list[int] = []
    cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.DescribeAlarms",
        lambda params, **_: calls.append(len(params["AlarmNames"])),
    )
    found = describe_metric_alarms(cloudwatch, [*names, "missing"])
    assert sorted(found) == names and calls == [100, 51]
    evaluation = evaluate_described(cloudwatch, found["alarm-007"], NOW)
    assert evaluation.state == "INSUFFICIENT_DATA"
