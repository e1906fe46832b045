"""The planned alarms, judged as CloudWatch judges them, whenever their answer can change.

CloudWatch evaluates an alarm every minute over its evaluation range
(``EvaluationPeriods`` and two more periods; ``ops/local/alarm_evaluation.py``
holds the rule). Between two evaluations the answer can only change when a
datapoint enters the range or grows a period older in it, so the simulation
evaluates an alarm a minute after something was published to its metric's
namespace, a minute after each period boundary that datapoint crosses until it
leaves the range (this is when missing data starts to count), and when the
plan puts it. Every state change is
sent on as CloudWatch sends it: an "Alarm State Change" event on the bus.
An alarm the emulator cannot judge (moto computes no percentiles, so a p99
alarm) is left out, and the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.local.alarm_evaluation import (
    RANGE_EXTRA,
    AlarmEvaluationError,
    alarm_namespace,
    alarm_period,
    describe_metric_alarms,
    evaluate_alarm,
    evaluate_described,
)

if TYPE_CHECKING:
    from ops.simulate.clients import SimClients

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class StateChange:
    """An alarm that moved from one state to another, and why."""

    at: datetime
    name: str
    previous: str
    state: str
    reason: str
    alarm: dict[str, Any]


class AlarmWatch:
    """Which alarms to judge when, and their last known states."""

    def __init__(self, clients: SimClients) -> None:
        self.clients = clients
        self.alarms: dict[str, dict[str, Any]] = {}
        self.states: dict[str, str] = {}
        self.due: dict[str, set[datetime]] = defaultdict(set)
        self.evaluations = 0
        self.unjudged: dict[str, str] = {}  # alarms the emulator cannot judge, and why

    def watch(self, planned: dict[str, dict[str, Any]], now: datetime) -> None:
        """The alarms the plan holds now; each is judged at once and when its range has passed."""
        found = self.clients.cloudwatch.describe_alarms(AlarmNames=sorted(planned)).get(
            "MetricAlarms", []
        )
        current = {alarm["AlarmName"]: alarm["StateValue"] for alarm in found}
        self.alarms = dict(planned)
        self.states = {name: current.get(name, "INSUFFICIENT_DATA") for name in planned}
        for name, alarm in planned.items():
            self.due[name].update({now, *_ageing(alarm, now)})

    def published(self, namespace: str, at: datetime) -> None:
        """Data stamped ``at`` reached ``namespace``: judge its alarms when it counts."""
        for name, alarm in self.alarms.items():
            if alarm_namespace(alarm) == namespace:
                self.due[name].update({at + MINUTE, *_ageing(alarm, at)})

    def next_due(self) -> datetime | None:
        times = [min(times) for times in self.due.values() if times]
        return min(times) if times else None

    def judge_due(self, now: datetime) -> list[StateChange]:
        """Judge every alarm due by ``now`` (described in one call); the changes, in name order."""
        names = []
        for name in sorted(self.due):
            if not any(at <= now for at in self.due[name]):
                continue
            self.due[name] = {at for at in self.due[name] if at > now}
            if name in self.alarms and name not in self.unjudged:
                names.append(name)
        described = describe_metric_alarms(self.clients.cloudwatch, names) if names else {}
        changes = []
        for name in names:
            change = self.judge(name, now, described.get(name))
            if change is not None:
                changes.append(change)
        return changes

    def judge(
        self, name: str, now: datetime, described: dict[str, Any] | None = None
    ) -> StateChange | None:
        """Judge one alarm at ``now``; its change, if it changed (None if it cannot be judged).

        ``described`` is the alarm as ``DescribeAlarms`` just returned it (else it is read).
        """
        if name in self.unjudged:
            return None
        try:
            evaluation = (
                evaluate_described(self.clients.cloudwatch, described, now)
                if described is not None
                else evaluate_alarm(self.clients.cloudwatch, name, now)
            )
        except AlarmEvaluationError as error:
            self.unjudged[name] = str(error)
            return None
        self.evaluations += 1
        previous = self.states.get(name, "INSUFFICIENT_DATA")
        self.states[name] = evaluation.state
        if evaluation.state == previous:
            return None
        return StateChange(
            now, name, previous, evaluation.state, evaluation.reason, self.alarms[name]
        )


def _ageing(alarm: dict[str, Any], at: datetime) -> set[datetime]:
    """A minute past each period boundary a datapoint stamped ``at`` crosses in the range."""
    try:
        period = timedelta(seconds=alarm_period(alarm))
    except (AlarmEvaluationError, KeyError):
        return set()  # judged at once, where the evaluator says why it cannot be
    periods = int(alarm["EvaluationPeriods"]) + RANGE_EXTRA
    return {at + period * age + MINUTE for age in range(1, periods + 1)}
