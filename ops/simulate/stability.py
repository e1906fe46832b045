"""Invariants about repeated events and silent failures.

- Duplicated or reordered deliveries never start two alarm-started runs in one
  cool-down, nor two pull requests or two deployments of one approval.
- A monitoring job that cannot run raises its staleness alarm (its heartbeat
  missing for the periods the plan configures) within that staleness; its
  failed runs reach the stack topic through the plan's failed-run rule.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ops.simulate.events import EXECUTION_CHANGE
from ops.simulate.invariants import Check, alarms_entering, monitoring_interval
from ops.simulate.paths import cooldown
from pipelines.metrics import PUBLISHED_NAMESPACES

if TYPE_CHECKING:
    from ops.simulate.state import Sim


def no_duplicate_effects(sim: Sim) -> Check:
    """At most one alarm-started run per cool-down; one pull request and one deploy per approval."""
    name = "duplicated or reordered events start nothing twice"
    runs = sorted(
        (e for e in sim.runs.executions.values() if e.kind == "alarm"), key=lambda e: e.started
    )
    window = cooldown(sim)
    too_close = [
        (a.execution_id, b.execution_id)
        for a, b in itertools.pairwise(runs)
        if b.started - a.started < window
    ]
    pulls = Counter(p.arn for p in sim.repo.pulls if p.purpose == "serve")
    deploys = Counter(  # an approval's deploys: a rollback's or an operator's are not its
        e.detail["approved"]
        for e in sim.timeline.of_kind("deploy_started")
        if e.detail.get("approved") and e.detail.get("purpose", "serve") == "serve"
    )
    repeated = sorted(
        {arn for arn, n in pulls.items() if n > 1} | {arn for arn, n in deploys.items() if n > 1}
    )
    copies = sum(1 for e in sim.timeline.entries if e.detail.get("copy", 0) > 0)
    gate_calls = len(sim.timeline.of_kind("gate"))
    figures: dict[str, Any] = {
        "repeated_deliveries": copies,
        "gate_invocations": gate_calls,
        "alarm_runs": len(runs),
        "runs_within_cooldown": too_close,
        "approvals_with_two_effects": repeated,
    }
    passed = not too_close and not repeated
    detail = (
        f"{copies} repeated deliveries, {gate_calls} gate invocations -> {len(runs)} alarm-started "
        f"run(s), none within {window} of another"
        if not too_close
        else f"{len(too_close)} pair(s) of alarm-started runs within {window}"
    )
    detail += f"; {sum(pulls.values())} pull request(s) for {len(pulls)} approval(s)"
    if repeated:
        detail += f"; twice: {', '.join(repeated)}"
    return Check(name, passed, detail, figures)


def stale_alarms(sim: Sim) -> dict[str, timedelta]:
    """Planned alarms that a monitoring job's silence trips, with the silence each needs."""
    from ops.local.alarm_evaluation import alarm_namespace, alarm_period

    found = {}
    for name, alarm in sim.applied.alarms.items():
        if alarm_namespace(alarm) in PUBLISHED_NAMESPACES and alarm.get("TreatMissingData") == (
            "breaching"
        ):
            periods = int(alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"])
            found[name] = timedelta(seconds=alarm_period(alarm) * periods)
    return found


def broken_monitoring_alarms(sim: Sim) -> Check:
    """While monitoring is broken: failed runs notified, a staleness alarm within its silence."""
    name = "a broken monitoring job raises an alarm within its staleness"
    window = sim.scenario.broken_monitoring
    if window is None or window[0] >= sim.scenario.hours:
        return Check(name, True, "the scenario breaks no monitoring job in its time")
    alarms = stale_alarms(sim)
    if not alarms:
        return Check(name, False, "the plan has no staleness alarm on the monitoring jobs")
    start = sim.timeline.start + timedelta(hours=window[0])
    limit = max(alarms.values()) + monitoring_interval(sim)
    fired = [e for e in alarms_entering(sim, set(alarms)) if start <= e.at <= start + limit]
    failures = [
        e
        for e in sim.timeline.of_kind("notified")
        if e.detail.get("detail_type") == EXECUTION_CHANGE and e.at >= start
    ]
    took = (fired[0].at - start) if fired else None
    told = (
        f"; the first failed run notified after {_hours(failures[0].at - start):.2f} h"
        if failures
        else "; no failed run was notified"
    )
    detail = (
        f"monitoring broken from h{window[0]:g}; {fired[0].detail['name']} in ALARM after "
        f"{took.total_seconds() / 3600:.2f} h (limit {limit.total_seconds() / 3600:g} h)"
        if fired and took is not None
        else f"no alarm of {', '.join(sorted(alarms))} within {limit}"
    ) + told
    hours = took.total_seconds() / 3600 if took is not None else None
    return Check(name, bool(fired), detail, {"hours_to_alarm": hours})


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600
