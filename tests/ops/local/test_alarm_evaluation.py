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


# The user guide's tables ("How alarm state is evaluated when data is missing"): the 5 most
# recent periods (the evaluation range of a 3-period alarm), newest last; 0 good, X breaching,
# - missing; then the state for missing, ignore, breaching and notBreaching ("keep": the current).
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
THREE_OF_THREE = [
    ("0 - X - X", ("OK", "OK", "OK", "OK")),
    ("0 - - - -", ("OK", "OK", "OK", "OK")),
    ("- - - - -", ("INSUFFICIENT_DATA", "keep", "ALARM", "OK")),
    ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("- - X - -", ("ALARM", "keep", "ALARM", "OK")),
]
TWO_OF_THREE = [
    ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
    ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
    ("- - - X -", ("ALARM", "keep", "ALARM", "OK")),
]


@pytest.mark.parametrize(
    ("needed", "points", "states"),
    [(3, *row) for row in THREE_OF_THREE] + [(2, *row) for row in TWO_OF_THREE],
)
def test_the_user_guides_missing_data_tables(
    needed: int, points: str, states: tuple[str, ...]
) -> None:
    values = [{"0": 0.1, "X": 0.3, "-": None}[p] for p in points.split()]
    for treatment, expected in zip(TREATMENTS, states, strict=True):
        for current in ("OK", "ALARM"):
            described = alarm(
                TreatMissingData=treatment, DatapointsToAlarm=needed, StateValue=current
            )
            state, _ = judge(described, values)
            assert state == (current if expected == "keep" else expected), (treatment, current)


def test_a_late_datapoint_does_not_flip_an_alarm_that_has_enough_real_ones() -> None:
    """Three real breaching points in the range: the missing newest period is not needed."""
    state, reason = judge(alarm(DatapointsToAlarm=2), [0.3, 0.3, 0.4, None])
    assert state == "ALARM" and "[0.3, 0.3, 0.4]" in reason


def test_only_the_range_is_read() -> None:
    """Older periods than the range (3 + 2) do not count."""
    assert judge(alarm(), [0.3, 0.3, 0.3, None, None, None, None, None])[0] == "OK"


def test_breaching_data_too_recent_to_decide_keeps_the_state() -> None:
    values = [None, None, None, None, 0.3]
    assert judge(alarm(TreatMissingData="missing", StateValue="OK"), values)[0] == "OK"
    assert judge(alarm(TreatMissingData="missing", StateValue="ALARM"), values)[0] == "ALARM"


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
    assert (evaluation.state, evaluation.changed) == ("ALARM", True)
    assert evaluation.datapoints == (None, None, 0.4)  # the range: 1 period and 2 more
    found = cloudwatch.describe_alarms(AlarmNames=["drift"])["MetricAlarms"][0]
    assert found["StateValue"] == "ALARM"
    within = evaluate_alarm(cloudwatch, "drift", NOW + timedelta(hours=2))
    assert within.state == "ALARM"  # the datapoint is still the most recent real one
    later = evaluate_alarm(cloudwatch, "drift", NOW + timedelta(hours=4))
    assert later.state == "OK"  # past the range: the hours without data are not breaching


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
    assert (evaluation.state, evaluation.datapoints) == ("ALARM", (None, None, 2.0, 2.0))


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


def _math_alarm(cloudwatch: Any, expression: str) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="stale",
        Metrics=[
            {
                "Id": "beat",
                "MetricStat": {
                    "Metric": {"Namespace": "mlops/monitoring", "MetricName": "RowsRead"},
                    "Period": 3600,
                    "Stat": "SampleCount",
                },
                "ReturnData": False,
            },
            {"Id": "filled", "Expression": expression, "ReturnData": True},
        ],
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
    )


@mock_aws
def test_fill_makes_silent_periods_datapoints_so_silence_counts_at_once() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    _math_alarm(cloudwatch, "FILL(beat, 0)")
    cloudwatch.put_metric_data(
        Namespace="mlops/monitoring",
        MetricData=[
            {"MetricName": "RowsRead", "Timestamp": NOW + timedelta(hours=h), "Value": 1}
            for h in range(3)
        ],
    )
    assert evaluate_alarm(cloudwatch, "stale", NOW + timedelta(hours=3)).state == "OK"
    # two silent hours after the last heartbeat: ALARM, although real ones are in the range
    silent = evaluate_alarm(cloudwatch, "stale", NOW + timedelta(hours=4, minutes=1))
    assert silent.state == "ALARM" and silent.datapoints[-2:] == (0.0, 0.0)


@mock_aws
def test_other_metric_math_is_refused_with_one_line() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    _math_alarm(cloudwatch, "beat * 2")
    with pytest.raises(AlarmEvaluationError, match=r"only FILL\(m, value\)"):
        evaluate_alarm(cloudwatch, "stale", NOW)
