"""Evaluate a CloudWatch metric alarm as CloudWatch does, for emulators that only store alarms.

moto keeps alarms and metric data but never evaluates one, so offline tests of
"drift published -> alarm in ALARM" need the rule itself. From "Alarm
evaluation" and "Configuring how CloudWatch alarms treat missing data" in the
CloudWatch user guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html,
"How alarm state is evaluated when data is missing"):

- each period's datapoint is the alarm's statistic of the metric; a datapoint
  breaches when ``value <op> Threshold`` holds; ``ALARM`` when at least
  ``DatapointsToAlarm`` (default: EvaluationPeriods) of the points judged
  breach (M out of N, not necessarily consecutive), else ``OK``;
- CloudWatch reads more periods than ``EvaluationPeriods``: the *evaluation
  range* (the guide's example: 3 periods, a range of 5; it gives no other
  figure, so the range here is always ``EvaluationPeriods + 2``). With at least
  N real datapoints in the range, the N most recent real ones are judged and
  the missing-data setting is not used, so a late or skipped datapoint does not
  flip an alarm;
- with fewer, every real one is judged and the rest are filled: ``breaching``
  and ``notBreaching`` fill bad and good; with ``missing`` or ``ignore`` a
  range without any datapoint is ``INSUFFICIENT_DATA`` or the current state;
  otherwise the "premature alarm" rule holds (ALARM when every real datapoint
  breaches and the oldest is at least M periods old; ``ignore`` keeps the
  current state there instead), and a breaching-only range too recent to
  decide keeps the current state. The guide's two tables are tests.
- one metric-math form is judged: ``FILL(m, <number>)`` over a single metric,
  which fills every period without data, so a heartbeat's silence counts from
  its first silent period rather than after the evaluation range.

Not modelled: other metric math and anomaly-detection alarms (refused with a
clear line).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.plan.metric_queries import api_metric_queries
from ml.errors import MlopsError

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


MAX_ALARM_NAMES = 100  # DescribeAlarms' AlarmNames limit
RANGE_EXTRA = 2  # periods read beyond EvaluationPeriods (the guide's example: 3 -> 5)
FILL = re.compile(r"^\s*FILL\(\s*(\w+)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)\s*$")


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
    """The state and reason for one alarm definition and its per-period datapoints.

    ``datapoints`` run oldest first; the last ``EvaluationPeriods + RANGE_EXTRA``
    are the evaluation range.
    """
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
    window = list(datapoints[-(periods + RANGE_EXTRA) :])
    # (age in periods, value) of the real datapoints, newest first
    real = [(age, v) for age, v in enumerate(reversed(window)) if v is not None]
    shown = ", ".join("-" if v is None else f"{v:g}" for v in window[-periods:]) or "-"

    def verdict(breaching: int, judged: str) -> tuple[str, str]:
        state = ALARM if breaching >= needed else OK
        return state, f"{breaching} of {periods} datapoint(s) [{judged}] {operator} {threshold:g}"

    if len(real) >= periods:  # the most recent real datapoints; missing ones are not needed
        recent = [v for _, v in real[:periods]][::-1]
        return verdict(
            sum(compare(v, threshold) for v in recent), ", ".join(f"{v:g}" for v in recent)
        )
    breaching = sum(1 for _, v in real if compare(v, threshold))
    fill = periods - len(real)
    if treatment == "breaching":
        return verdict(breaching + fill, shown)
    if treatment == "notBreaching":
        return verdict(breaching, shown)
    if not real:
        state = current if treatment == "ignore" else INSUFFICIENT
        return (
            state,
            f"no datapoint in the {len(window)} period(s) read; missing data is {treatment!r}",
        )
    if breaching >= needed:
        return verdict(breaching, shown)
    if breaching < len(real):  # a real datapoint is good: the missing ones cannot make it ALARM
        return verdict(breaching, shown)
    if real[-1][0] >= needed - 1:  # premature alarm: only breaching data, old enough
        if treatment == "ignore":
            return current, f"only breaching data [{shown}] and missing data ignored: state kept"
        return ALARM, f"{breaching} breaching datapoint(s) [{shown}], the rest missing"
    return current, (
        f"{len(real)} of {periods} period(s) have data, too recent to decide; state kept"
    )


def period_datapoints(cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> list[float | None]:
    """The alarm's value for each period of its evaluation range ending at now, oldest first."""
    source, filled = _alarm_metric(alarm)
    period = int(source["Period"])
    count = int(alarm["EvaluationPeriods"]) + RANGE_EXTRA
    # Periods are whole minutes on the clock: CloudWatch rounds a start time under 15 days
    # old down to the whole minute (GetMetricStatistics, StartTime), which moto does not.
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(seconds=period * count)
    query: dict[str, Any] = {
        "Namespace": source["Namespace"],
        "MetricName": source["MetricName"],
        "Dimensions": source.get("Dimensions", []),
        "StartTime": start,
        "EndTime": end,
        "Period": period,
    }
    extended = source.get("ExtendedStatistic")
    if extended:
        query["ExtendedStatistics"] = [extended]
    else:
        query["Statistics"] = [source["Statistic"]]
    values: list[float | None] = [None] * count
    for point in cloudwatch.get_metric_statistics(**query)["Datapoints"]:
        stamp = point["Timestamp"]
        stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
        index = math.floor((stamp - start).total_seconds() / period)
        if extended and extended not in point.get("ExtendedStatistics", {}):
            raise AlarmEvaluationError(  # moto 5.2 ignores ExtendedStatistics
                f"alarm {alarm.get('AlarmName')}: the service returned no {extended} of "
                f"{source['MetricName']}; an emulator that computes no percentiles cannot judge it"
            )
        value = point["ExtendedStatistics"][extended] if extended else point[source["Statistic"]]
        if 0 <= index < count:
            values[index] = float(value)
    if filled is not None and any(v is not None for v in values):
        values = [filled if v is None else v for v in values]
    return values


def _alarm_metric(alarm: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
    """The one metric an alarm reads (as a single-metric alarm names it), and FILL's value.

    A metric-math alarm is judged only as ``FILL(m, value)`` of one ``MetricStat``;
    a series with no datapoint in the range stays empty (and missing data decides).
    """
    if alarm.get("ThresholdMetricId"):
        raise AlarmEvaluationError(
            f"alarm {alarm.get('AlarmName')}: anomaly detection alarms are not evaluated here"
        )
    queries = alarm.get("Metrics") or []
    if not queries:
        if not alarm.get("MetricName"):
            raise AlarmEvaluationError(f"alarm {alarm.get('AlarmName')}: names no metric")
        return alarm, None
    by_id = {query["Id"]: query for query in queries}
    returned = [query for query in queries if query.get("ReturnData", True)]
    match = FILL.match(returned[0].get("Expression", "")) if len(returned) == 1 else None
    stat = by_id.get(match[1], {}).get("MetricStat") if match else None
    if match is None or stat is None or len(queries) != 2:
        raise AlarmEvaluationError(
            f"alarm {alarm.get('AlarmName')}: only FILL(m, value) of one metric is evaluated "
            "here; evaluate other metric math in CloudWatch"
        )
    metric = stat["Metric"]
    source = {
        "Namespace": metric["Namespace"],
        "MetricName": metric["MetricName"],
        "Dimensions": metric.get("Dimensions", []),
        "Period": stat["Period"],
        "Statistic": stat["Stat"],
    }
    return source, float(match[2])


def alarm_namespace(alarm: dict[str, Any]) -> str | None:
    """The namespace of the metric an alarm reads (its own, or its one metric-math metric)."""
    try:
        return str(_alarm_metric(alarm)[0]["Namespace"])
    except (AlarmEvaluationError, KeyError):
        return None


def alarm_period(alarm: dict[str, Any]) -> int:
    """The period of the metric an alarm reads, in seconds."""
    return int(_alarm_metric(alarm)[0]["Period"])


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
    if inputs.get("metricQueries"):
        parameters["Metrics"] = api_metric_queries(inputs["metricQueries"])
        return parameters
    parameters["Dimensions"] = [
        {"Name": name, "Value": value}
        for name, value in sorted(inputs.get("dimensions", {}).items())
    ]
    return parameters
