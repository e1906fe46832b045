"""What the loop must hold over the simulated time, checked on the timeline and the emulator.

Each check returns pass or fail with the figures it was judged on. A check
whose phase the scenario does not reach (a shortened run) says so and passes
only when there is nothing to judge.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.simulate.timeline import Entry
from pipelines.metrics import DRIFT_NAMESPACE, QUALITY_NAMESPACE

if TYPE_CHECKING:
    from ops.simulate.state import Sim

ROLLBACK_LIMIT = timedelta(minutes=5)
DRIFT_PHASE = "drift"
PATTERN_PHASE = "fraud-pattern change"


@dataclass
class Check:
    """One invariant's verdict and the figures behind it."""

    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, **self.figures}


def check_all(sim: Sim) -> list[Check]:
    """Every invariant, in the order the report lists them."""
    from ops.simulate.stability import broken_monitoring_alarms, no_duplicate_effects

    return [
        healthy_days(sim),
        change_caught(sim, DRIFT_PHASE, DRIFT_PHASE),
        change_caught(sim, PATTERN_PHASE, PATTERN_PHASE),
        bad_fleet(sim),
        no_duplicate_effects(sim),
        landed_bytes_kept(sim),
        datasets_fetchable(sim),
        broken_monitoring_alarms(sim),
    ]


def monitoring_alarms(sim: Sim) -> set[str]:
    """The planned alarms on what the monitoring jobs measure: drift, quality, bias."""
    return {
        name
        for name, alarm in sim.applied.alarms.items()
        if alarm.get("Namespace") in (DRIFT_NAMESPACE, QUALITY_NAMESPACE)
    }


def alarms_entering(sim: Sim, names: set[str]) -> list[Entry]:
    return [
        e
        for e in sim.timeline.of_kind("alarm")
        if e.detail["name"] in names and e.detail["state"] == "ALARM"
    ]


def onset(sim: Sim, phase: str) -> datetime | None:
    hour = sim.scenario.onset(phase)
    return None if hour is None else sim.timeline.start + timedelta(hours=hour)


def healthy_days(sim: Sim) -> Check:
    """Before the first change: no monitoring alarm or alarm-started run, nothing bad registered."""
    end = onset(sim, DRIFT_PHASE) or sim.end
    alarms = [e for e in alarms_entering(sim, monitoring_alarms(sim)) if e.at < end]
    alarm_runs = [e for e in sim.runs.executions.values() if e.kind == "alarm" and e.started < end]
    failing = [
        e.detail["package"]
        for e in sim.timeline.of_kind("registered")
        if sim.timeline.start <= e.at < end and not passes_gates(sim, e.detail["package"])
    ]
    hours = sim.timeline.hours(end)
    figures = {
        "hours": hours,
        "alarms": len(alarms),
        "alarm_runs": len(alarm_runs),
        "registered_failing_gates": failing,
    }
    passed = not alarms and not alarm_runs and not failing
    detail = (
        f"{hours:g} healthy hours: {len(alarms)} monitoring alarm(s)"
        + (f" ({', '.join(sorted({e.detail['name'] for e in alarms}))})" if alarms else "")
        + f", {len(alarm_runs)} alarm-started run(s), {len(failing)} registered package(s) "
        "below a gate"
    )
    return Check("healthy days are quiet", passed, detail, figures)


def passes_gates(sim: Sim, arn: str) -> bool:
    """Whether a registered package's recorded metrics meet the stack's fixed gate floors.

    The floors are on PR AUC and on precision and recall at the served threshold
    (``pipelines/definitions/gates.py`` records them with the package).
    """
    from pipelines.registry import describe

    assert sim.plan is not None
    gates = sim.plan.config.pipeline.gates
    package = describe(sim.clients.sagemaker, arn)
    floors = {
        "PrAuc": gates.min_pr_auc,
        "Precision": gates.min_precision,
        "Recall": gates.min_recall,
    }
    found = {name: package.metric(name) for name in floors}
    return all(value is not None and value >= floors[name] for name, value in found.items())


def change_caught(sim: Sim, phase: str, label: str) -> Check:
    """After a change: an alarm in time, one alarm-started run, its model serving after review."""
    from ops.simulate.paths import serving_path

    start = onset(sim, phase)
    name = f"{label}: caught, retrained once per cool-down, better model serving"
    if start is None or start >= sim.end:
        return Check(name, True, f"the scenario has no {label} phase in its {sim.scenario.hours} h")
    phases = [sim.scenario.onset(p.name) for p in sim.scenario.phases]
    later = [h for h in phases if h is not None and h > sim.timeline.hours(start)]
    end = sim.timeline.start + timedelta(hours=later[0]) if later else sim.end
    deadline = start + detection_limit(sim, phase)
    caught = [
        e
        for e in alarms_entering(sim, monitoring_alarms(sim))
        if start + judged_after(sim, e.detail["name"]) <= e.at < end
    ]
    path = serving_path(sim, start, end, caught[0].at if caught else None)
    figures: dict[str, Any] = {
        "onset_hour": sim.timeline.hours(start),
        "limit_hours": sim.timeline.hours(deadline) - sim.timeline.hours(start),
        "first_alarm_hour": sim.timeline.hours(caught[0].at) if caught else None,
        **path.figures(sim),
    }
    problems = []
    if not caught or caught[0].at > deadline:
        problems.append("no monitoring alarm within the limit")
    problems += path.problems
    detail = (
        f"onset h{figures['onset_hour']:g}; first alarm "
        + (f"h{figures['first_alarm_hour']:.2f}" if caught else "never")
        + f" (limit {figures['limit_hours']:g} h); "
        + path.describe()
    )
    if problems:
        detail += "; " + "; ".join(problems)
    return Check(name, not problems, detail, figures)


def judged_after(sim: Sim, name: str) -> timedelta:
    """How long after a change an alarm can first judge traffic from after it.

    A drift alarm judges the last hour's traffic; a quality alarm judges the cohort
    of predictions that ended ``monitoring.quality.labelDelayHours`` ago, so one that
    enters ALARM sooner after an onset is about the traffic before it (a precision
    drop from the phase before), not about the change.
    """
    assert sim.plan is not None
    if sim.applied.alarms[name].get("Namespace") == QUALITY_NAMESPACE:
        return timedelta(hours=sim.plan.config.monitoring.quality.label_delay_hours)
    return timedelta(0)


def detection_limit(sim: Sim, phase: str) -> timedelta:
    """Two monitoring windows and the run that judges the second, plus the label delay
    (the latest a label arrives) for a change only labels can show.

    The run's own time counts because a window is judged after it closes: an alarm
    on the second window's datapoint comes ``MONITORING_TIME`` after that window.
    """
    from ops.simulate.runs import MONITORING_TIME
    from ops.simulate.scenario import LATEST_LABEL

    windows = 2 * monitoring_interval(sim) + MONITORING_TIME
    if phase == PATTERN_PHASE:
        return windows + timedelta(hours=sim.scenario.label_delay_hours * LATEST_LABEL)
    return windows


def monitoring_interval(sim: Sim) -> timedelta:
    """How often the monitoring pipeline runs: its schedule's rate (an hour if not a rate)."""
    from ops.simulate.schedules import RATE, UNIT_SECONDS

    for schedule in sim.applied.schedules.values():
        if "monitoring" in schedule.name and (match := RATE.match(schedule.expression)):
            return timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2].rstrip("s")])
    return timedelta(hours=1)


def bad_fleet(sim: Sim) -> Check:
    """A fleet that fails: rolled back within five minutes of its first errors; blue serves."""
    name = "bad fleet: rolled back within 5 minutes, the previous model serves"
    started = [e for e in sim.timeline.of_kind("deploy_started") if e.detail.get("bad_fleet")]
    if not started:
        if sim.scenario.bad_fleet_hour is None or sim.scenario.bad_fleet_hour >= sim.scenario.hours:
            return Check(name, True, "the scenario has no bad fleet in its time")
        return Check(name, False, "no deployment started after the bad fleet's hour")
    deploy = started[0]
    rollbacks = [e for e in sim.timeline.of_kind("rollback_started") if e.at >= deploy.at]
    errors = [e for e in sim.timeline.of_kind("fleet_errors") if e.at >= deploy.at]
    if not rollbacks or not errors:
        return Check(
            name, False, f"the bad fleet of {deploy.detail['package']} was not rolled back"
        )
    first_error = datetime.fromisoformat(errors[0].detail["first_error_minute"])
    took = rollbacks[0].at - first_error
    served = [s.served for s in sim.timeline.samples if s.at > rollbacks[0].at]
    restored = rollbacks[0].detail["restored"]
    keeps = all(arn == restored for arn in served[:1])
    passed = took <= ROLLBACK_LIMIT and keeps and deploy.detail.get("previous") == restored
    detail = (
        f"first errors {first_error:%H:%M}, rollback started {rollbacks[0].at:%H:%M} "
        f"({took.total_seconds() / 60:.0f} min, alarms "
        f"{', '.join(rollbacks[0].detail['alarms'])}); "
        f"serving after it: {restored.rsplit('/', 2)[-2:] if restored else None}"
    )
    return Check(name, passed, detail, {"rollback_minutes": took.total_seconds() / 60})


def landed_bytes_kept(sim: Sim) -> Check:
    """Every object the world put is still there, byte for byte, or kept in quarantine."""
    assert sim.world is not None
    s3 = sim.clients.s3
    quarantined = _quarantine_digests(sim)
    missing = []
    for landed in sim.world.ledger.landed:
        if landed.key.startswith(("raw/", "data-capture/", "labels/")) is False:
            continue
        options: dict[str, Any] = {"VersionId": landed.version_id} if landed.version_id else {}
        try:
            body = s3.get_object(Bucket=landed.bucket, Key=landed.key, **options)["Body"].read()
        except s3.exceptions.ClientError:
            body = b""
        if hashlib.sha256(body).hexdigest() != landed.sha256 and landed.sha256 not in quarantined:
            missing.append(landed.key)
    count = len(sim.world.ledger.landed)
    detail = f"{count - len(missing)} of {count} landed objects kept byte for byte"
    if quarantined:
        detail += f" ({len(quarantined)} quarantined copies)"
    return Check("every byte that landed is kept", not missing, detail, {"missing": missing[:10]})


def _quarantine_digests(sim: Sim) -> set[str]:
    assert sim.plan is not None
    bucket = str(sim.plan.outputs["dataBucket"])
    digests = set()
    paginator = sim.clients.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix="quarantine/"):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".reason.json"):
                continue
            body = sim.clients.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            digests.add(hashlib.sha256(body).hexdigest())
    return digests


def datasets_fetchable(sim: Sim) -> Check:
    """Every registered package names a dataset version whose objects fetch byte for byte."""
    from pipelines.registry import list_packages

    broken, checked = [], 0
    for package in list_packages(sim.clients.sagemaker, sim.group):
        checked += 1
        problem = dataset_problem(sim, package.metadata)
        if problem:
            broken.append(f"{package.arn.rsplit('/', 1)[-1]}: {problem}")
    detail = f"{checked - len(broken)} of {checked} registered packages re-fetch their dataset"
    return Check("registered datasets fetch byte for byte", not broken, detail, {"broken": broken})


def dataset_problem(sim: Sim, metadata: dict[str, str]) -> str | None:
    """Why a package's dataset cannot be fetched again as it was hashed, or None.

    The package's ``DatasetManifestUri`` is what a retraining reads: each object
    it lists must hash to what the version's record says its source hashed to.
    """
    from ops.local.emulator import manifest_uris
    from pipelines.s3 import split_s3_uri

    manifest = metadata.get("DatasetManifestUri")
    if not manifest:
        return "no DatasetManifestUri in its metadata"
    s3 = sim.clients.s3
    bucket, key = split_s3_uri(manifest)
    entries = manifest_uris(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    record_key = key.rsplit("/", 1)[0] + "/dataset.json"
    record = json.loads(s3.get_object(Bucket=bucket, Key=record_key)["Body"].read())
    expected = {item.get("retained_key", item["key"]): item["sha256"] for item in record["objects"]}
    if len(entries) != len(expected):
        return f"the manifest lists {len(entries)} objects, the record {len(expected)}"
    for uri, relative in entries:
        object_bucket, object_key = split_s3_uri(uri)
        body = s3.get_object(Bucket=object_bucket, Key=object_key)["Body"].read()
        if hashlib.sha256(body).hexdigest() != expected.get(relative):
            return f"{relative} does not hash to what the version recorded"
    return None
