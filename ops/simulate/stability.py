"""Invariants about repeated events and silent failures.

- Duplicated or reordered deliveries never start two alarm-started runs in one
  cool-down, nor two pull requests or two deployments of one approval.
- A monitoring job that cannot run raises an alarm (the monitoring pipeline's
  failure alarm, or a staleness alarm on the metrics it stopped publishing)
  within the staleness the plan configures.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ops.simulate.invariants import Check, alarms_entering, monitoring_interval
from ops.simulate.paths import cooldown
from pipelines.metrics import PUBLISHED_NAMESPACES

if TYPE_CHECKING:
    from ops.simulate.state import Sim

PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"


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
    pulls = Counter(p.arn for p in sim.repo.pulls if p.purpose == "deploy")
    deploys = Counter(
        e.detail["approved"]
        for e in sim.timeline.of_kind("deploy_started")
        if e.detail.get("approved")
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


def failure_alarms(sim: Sim) -> dict[str, timedelta]:
    """Planned alarms that catch a monitoring job that stopped, with the time each may take."""
    monitoring = str((sim.plan.outputs if sim.plan else {}).get("monitoringPipelineName", ""))
    found = {}
    for name, alarm in sim.applied.alarms.items():
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        span = timedelta(seconds=int(alarm["Period"]) * int(alarm["EvaluationPeriods"]))
        failed = alarm.get("Namespace") == PIPELINE_NAMESPACE and dims.get("PipelineName") == (
            monitoring
        )
        stale = (
            alarm.get("Namespace") in PUBLISHED_NAMESPACES
            and alarm.get("TreatMissingData") == "breaching"
        )
        if failed or stale:
            found[name] = span
    return found


def broken_monitoring_alarms(sim: Sim) -> Check:
    """While monitoring is broken, an alarm within the configured staleness."""
    name = "a broken monitoring job raises an alarm within its staleness"
    window = sim.scenario.broken_monitoring
    if window is None or window[0] >= sim.scenario.hours:
        return Check(name, True, "the scenario breaks no monitoring job in its time")
    alarms = failure_alarms(sim)
    if not alarms:
        return Check(name, False, "the plan has no alarm on monitoring failures or staleness")
    start = sim.timeline.start + timedelta(hours=window[0])
    limit = max(alarms.values()) + monitoring_interval(sim)
    fired = [e for e in alarms_entering(sim, set(alarms)) if start <= e.at <= start + limit]
    took = (fired[0].at - start) if fired else None
    detail = (
        f"monitoring broken from h{window[0]:g}; {fired[0].detail['name']} in ALARM after "
        f"{took.total_seconds() / 3600:.2f} h (limit {limit.total_seconds() / 3600:g} h)"
        if fired and took is not None
        else f"no alarm of {', '.join(sorted(alarms))} within {limit}"
    )
    hours = took.total_seconds() / 3600 if took is not None else None
    return Check(name, bool(fired), detail, {"hours_to_alarm": hours})
