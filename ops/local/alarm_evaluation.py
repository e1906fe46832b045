"""Evaluate a CloudWatch metric alarm as CloudWatch does, for emulators that only store alarms.

moto keeps alarms and metric data but never evaluates one, so offline tests of
"drift published -> alarm in ALARM" need the rule itself. From "Alarm
evaluation" and "Configuring how CloudWatch alarms treat missing data" in the
CloudWatch user guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):

- the alarm looks at its last ``EvaluationPeriods`` periods of ``Period``
  seconds; each period's datapoint is the alarm's statistic of the metric;
- a datapoint breaches when ``value <op> Threshold`` holds;
- ``ALARM`` when at least ``DatapointsToAlarm`` (default: EvaluationPeriods)
  datapoints breach (M out of N, not necessarily consecutive), else ``OK``;
- a period without data is good (``notBreaching``) or bad (``breaching``);
  with ``ignore`` the state stays as it is; with ``missing`` (the default) the
  alarm goes to ``INSUFFICIENT_DATA`` when every period is missing. With
  ``ignore`` or ``missing``, fewer datapoints than DatapointsToAlarm and too few
  breaching keep the current state.

Not modelled: CloudWatch's look-back beyond the evaluation range for missing
data, anomaly-detection and metric-math alarms (refused with a clear line).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ml.errors import MlopsError

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


MAX_ALARM_NAMES = 100  # DescribeAlarms' AlarmNames limit


class AlarmEvaluationError(MlopsError):
    """An alarm this evaluator cannot judge (metric math, anomaly bands, unknown alarm)."""


@dataclass(frozen=True)
class Evaluation:
    """The state an alarm should be in, why, and the datapoints it was judged on (oldest first)."""

    name: str
    state: str
    reason: str
    datapoints: tuple[float | None, ...]
    changed: bool = False


def judge(alarm: dict[str, Any], datapoints: list[float | None]) -> tuple[str, str]:
    """The state and reason for one alarm definition and its per-period datapoints."""
    operator = alarm.get("ComparisonOperator", "")
    compare = COMPARISONS.get(operator)
    if compare is None:
        raise AlarmEvaluationError(
            f"alarm {alarm.get('AlarmName')}: comparison {operator!r} is not one of "
            f"{', '.join(COMPARISONS)}; evaluate it in CloudWatch"
        )
    threshold = float(alarm["Threshold"])
    periods = int(alarm["EvaluationPeriods"])
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    treatment = alarm.get("TreatMissingData") or "missing"
    current = alarm.get("StateValue", INSUFFICIENT)
    recent = list(datapoints[-periods:])
    present = [v for v in recent if v is not None]
    missing = len(recent) - len(present) + max(periods - len(recent), 0)
    breaching = sum(1 for v in present if compare(v, threshold))
    if treatment == "breaching":
        breaching += missing
    elif treatment == "notBreaching":
        pass
    elif not present:
        state = current if treatment == "ignore" else INSUFFICIENT
        return state, f"no datapoint in {periods} period(s); missing data is {treatment!r}"
    elif breaching < needed and len(present) < needed:
        return current, (
            f"{len(present)} of {periods} period(s) have data, fewer than the {needed} "
            "needed to decide"
        )
    shown = ", ".join("-" if v is None else f"{v:g}" for v in recent) or "-"
    verdict = f"{breaching} of {periods} datapoint(s) [{shown}] {operator} {threshold:g}"
    return (ALARM if breaching >= needed else OK), verdict


def period_datapoints(cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> list[float | None]:
    """The alarm's statistic for each of its last EvaluationPeriods periods ending at now."""
    if alarm.get("Metrics") or alarm.get("ThresholdMetricId") or not alarm.get("MetricName"):
        raise AlarmEvaluationError(
            f"alarm {alarm.get('AlarmName')}: metric math and anomaly alarms are not evaluated "
            "here; give a single-metric alarm"
        )
    period = int(alarm["Period"])
    count = int(alarm["EvaluationPeriods"])
    # Periods are whole minutes on the clock: CloudWatch rounds a start time under 15 days
    # old down to the whole minute (GetMetricStatistics, StartTime), which moto does not.
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(seconds=period * count)
    query: dict[str, Any] = {
        "Namespace": alarm["Namespace"],
        "MetricName": alarm["MetricName"],
        "Dimensions": alarm.get("Dimensions", []),
        "StartTime": start,
        "EndTime": end,
        "Period": period,
    }
    extended = alarm.get("ExtendedStatistic")
    if extended:
        query["ExtendedStatistics"] = [extended]
    else:
        query["Statistics"] = [alarm["Statistic"]]
    values: list[float | None] = [None] * count
    for point in cloudwatch.get_metric_statistics(**query)["Datapoints"]:
        stamp = point["Timestamp"]
        stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
        index = math.floor((stamp - start).total_seconds() / period)
        if extended and extended not in point.get("ExtendedStatistics", {}):
            raise AlarmEvaluationError(  # moto 5.2 ignores ExtendedStatistics
                f"alarm {alarm.get('AlarmName')}: the service returned no {extended} of "
                f"{alarm['MetricName']}; an emulator that computes no percentiles cannot judge it"
            )
        value = point["ExtendedStatistics"][extended] if extended else point[alarm["Statistic"]]
        if 0 <= index < count:
            values[index] = float(value)
    return values


def evaluate_alarm(cloudwatch: Any, name: str, now: datetime | None = None) -> Evaluation:
    """Judge one alarm on its metric data and set its state (``SetAlarmState``) if it changed."""
    alarm = describe_metric_alarms(cloudwatch, [name]).get(name)
    if alarm is None:
        raise AlarmEvaluationError(f"no metric alarm named {name!r}; check the name and region")
    return evaluate_described(cloudwatch, alarm, now)


def describe_metric_alarms(cloudwatch: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """The metric alarms of those names that exist, by name: one ``DescribeAlarms`` per 100.

    ``AlarmNames`` takes at most 100 names
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html).
    """
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(names), MAX_ALARM_NAMES):
        batch = names[first : first + MAX_ALARM_NAMES]
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=batch, AlarmTypes=["MetricAlarm"]
        )
        for page in pages:
            found.update({alarm["AlarmName"]: alarm for alarm in page.get("MetricAlarms", [])})
    return found


def evaluate_described(
    cloudwatch: Any, alarm: dict[str, Any], now: datetime | None = None
) -> Evaluation:
    """Judge an alarm as ``DescribeAlarms`` returned it; set its state if it changed."""
    name = alarm["AlarmName"]
    datapoints = period_datapoints(cloudwatch, alarm, now or datetime.now(UTC))
    state, reason = judge(alarm, datapoints)
    changed = state != alarm.get("StateValue")
    if changed:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason[:1023])
    return Evaluation(name, state, reason, tuple(datapoints), changed)


# The ``aws.cloudwatch.MetricAlarm`` inputs (camelCase, as a plan records them) that
# ``PutMetricAlarm`` takes, and its parameter names.
PLAN_TO_API = {
    "name": "AlarmName",
    "alarmDescription": "AlarmDescription",
    "namespace": "Namespace",
    "metricName": "MetricName",
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "period": "Period",
    "evaluationPeriods": "EvaluationPeriods",
    "datapointsToAlarm": "DatapointsToAlarm",
    "threshold": "Threshold",
    "comparisonOperator": "ComparisonOperator",
    "treatMissingData": "TreatMissingData",
    "actionsEnabled": "ActionsEnabled",
}

INTEGER_PARAMETERS = {"Period", "EvaluationPeriods", "DatapointsToAlarm"}


def alarm_parameters(inputs: dict[str, Any]) -> dict[str, Any]:
    """``PutMetricAlarm`` parameters from a planned alarm's inputs (actions left out).

    Actions name resources of the real account (the stack topic), so an
    emulator gets the definition that decides the state and nothing else.
    """
    parameters = {api: inputs[key] for key, api in PLAN_TO_API.items() if key in inputs}
    for whole in INTEGER_PARAMETERS & parameters.keys():  # a plan records numbers as floats
        parameters[whole] = int(parameters[whole])
    parameters["Dimensions"] = [
        {"Name": name, "Value": value}
        for name, value in sorted(inputs.get("dimensions", {}).items())
    ]
    return parameters
