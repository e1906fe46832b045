"""What the world and the platform's services do in the simulation, one handler per action.

``slice``: a slice of requests to the endpoint; ``hour``: the hour's data drop,
the labels that arrived, the hour's sample, and the schedules' fires of the next
hour; ``fire``: Scheduler starts a pipeline; ``finish``: an execution's steps run
and end; ``judge``: alarms whose answer may have changed are judged and their
changes go on the bus. Registry changes become package state change events.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from ops.simulate.events import Delivery, alarm_event, execution_event, package_event
from ops.simulate.schedules import fire_times
from ops.simulate.state import HourTally, Sim
from ops.simulate.timeline import Sample
from pipelines.metrics import PUBLISHED_NAMESPACES

HOUR = timedelta(hours=1)
MATURE_WINDOW = timedelta(hours=24)


def on_slice(sim: Sim, _: Any) -> None:
    """Requests of the last slice, answered by the fleets and captured."""
    minutes = sim.scenario.slice_minutes
    start = sim.now - timedelta(minutes=minutes)
    prefix = sim.monitoring_arguments("Drift").get("capture-prefix")
    if sim.world is not None and prefix and start >= sim.timeline.start:
        counts = sim.world.traffic(start, minutes, prefix)
        sim.tally.requests += counts["drawn"]
        sim.tally.errors += counts["errors"]
    if sim.now < sim.end:
        sim.agenda.add(sim.now + timedelta(minutes=minutes), "slice")


def on_hour(sim: Sim, _: Any) -> None:
    """The top of an hour: data, labels, the sample, the schedules' fires of the hour."""
    world = sim.world
    if world is not None and sim.now > sim.timeline.start:
        landed = world.data_drop(sim.now - HOUR)
        sim.record("data_drop", key=landed.key, bytes=landed.size)
        labels_prefix = sim.monitoring_arguments("Quality").get("labels-prefix")
        if labels_prefix:
            count = world.land_labels(sim.now, labels_prefix)
            if count:
                sim.record("labels", rows=count)
        take_sample(sim)
    for schedule in sim.applied.schedules.values():
        if not schedule.enabled:
            continue
        created = sim.timeline.start - HOUR  # the schedules exist from before the first hour
        for at in fire_times(schedule.expression, created, sim.now + HOUR, schedule.timezone):
            if at >= sim.now:
                sim.agenda.add(at, "fire", schedule.name)
    if sim.now < sim.end:
        sim.agenda.add(sim.now + HOUR, "hour")


def take_sample(sim: Sim) -> None:
    """The hour that just ended, as the report plots it."""
    assert sim.world is not None
    measured = sim.world.hour_sample(sim.now, MATURE_WINDOW)
    psi = sim.last_psi[1] if sim.last_psi and sim.last_psi[0] >= sim.now - 2 * HOUR else None
    served = sim.endpoint.serving.package_arn if sim.endpoint and sim.endpoint.serving else None
    sim.timeline.samples.append(
        Sample(
            at=sim.now,
            served=served,
            max_psi=psi,
            flag_rate=measured["flag_rate"],
            recall=measured["recall"],
            mature_labels=measured["mature"],
            requests=sim.tally.requests,
            errors=sim.tally.errors,
            phase=sim.scenario.phase_at(sim.hour() - 1).name,
        )
    )
    sim.tally = HourTally()


def on_fire(sim: Sim, name: str) -> None:
    """EventBridge Scheduler invokes the schedule's target: a pipeline, or a function."""
    schedule = sim.applied.schedules.get(name)
    if schedule is None:
        return
    if ":function:" in schedule.target_arn:  # the retrain gate's sweep, with the planned input
        body = json.loads(schedule.input or "{}")
        delivery = Delivery(sim.now, name, schedule.target_arn, body, body, copy=0)
        sim.agenda.add(sim.now, "deliver", delivery)
        return
    pipeline = schedule.target_arn.rsplit("/", 1)[-1]
    sim.clients.sagemaker.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in schedule.parameters.items()],
        PipelineExecutionDescription=f"started by schedule {name}",
    )
    started = start_runs(sim, "scheduled")
    sim.record("schedule_fired", schedule=name, executions=[e.arn for e in started])


def start_runs(sim: Sim, kind: str) -> list[Any]:
    """Executions the emulator was just asked to start; each finishes after its duration."""
    started = sim.runs.collect(kind, sim.now)
    for execution in started:
        if sim.runs.role(execution) == "training":
            sim.record("run_started", execution=execution.arn, run_kind=execution.kind)
        status_event(sim, execution, "Executing")
        sim.agenda.add(sim.now + sim.runs.duration(execution), "finish", execution.arn)
    return started


def status_event(sim: Sim, execution: Any, current: str) -> None:
    """SageMaker's status change event of an execution, on the bus."""
    previous = "Executing" if current != "Executing" else ""
    entry = execution_event(
        execution.arn, previous, current, execution.started, sim.now, execution.kind
    )
    sim.deliver(sim.bus.put(entry, sim.now))


def on_finish(sim: Sim, arn: str) -> None:
    """An execution's steps run now; what it published and registered takes effect."""
    began, cpu = time.perf_counter(), sim.cpu()
    execution = sim.runs.run(sim.runs.executions[arn], sim.now)
    role = sim.runs.role(execution)
    spent = sim.run_costs.setdefault(role, [0, 0.0, 0.0])
    spent[0], spent[1], spent[2] = (
        spent[0] + 1,
        spent[1] + time.perf_counter() - began,
        spent[2] + sim.cpu() - cpu,
    )
    sim.alarms.published("AWS/Sagemaker/ModelBuildingPipeline", execution.started)
    sim.alarms.published("AWS/Sagemaker/ModelBuildingPipeline", sim.now)
    status_event(sim, execution, execution.status)
    if role == "monitoring":
        drift = execution.reports.get("Drift", {})
        max_psi = (drift.get("summary") or {}).get("max_psi")  # none on too few rows
        if drift.get("status") == "measured" and max_psi is not None:
            sim.last_psi = (execution.started, float(max_psi))
        for namespace in PUBLISHED_NAMESPACES:
            sim.alarms.published(namespace, execution.started)
        if execution.status != "Succeeded":
            sim.record("monitoring_failed", execution=arn, reason=execution.failure[:300])
        return
    sim.record(
        "run_finished",
        execution=arn,
        run_kind=execution.kind,
        status=execution.status,
        package=execution.package_arn,
        dataset=execution.metadata.get("DatasetVersion"),
        reason=execution.failure[:300],
    )
    registry_events(sim)


def on_judge(sim: Sim, _: Any) -> None:
    """Judge the alarms that are due; each change goes to EventBridge."""
    for change in sim.alarms.judge_due(sim.now):
        sim.record(
            "alarm",
            name=change.name,
            previous=change.previous,
            state=change.state,
            reason=change.reason[:300],
        )
        entry = alarm_event(
            sim.clients.region,
            sim.clients.account,
            change.alarm,
            change.previous,
            change.state,
            change.reason,
            sim.now,
        )
        sim.deliver(sim.bus.put(entry, sim.now))


def registry_events(sim: Sim) -> None:
    """Packages of the stack's group that are new or changed: their state change events."""
    from pipelines.registry import list_packages

    for package in reversed(list_packages(sim.clients.sagemaker, sim.group)):
        if sim.registry.get(package.arn) == package.status:
            continue
        first = package.arn not in sim.registry
        sim.registry[package.arn] = package.status
        if first:
            sim.record(
                "registered",
                package=package.arn,
                status=package.status,
                dataset=package.metadata.get("DatasetVersion"),
            )
        described = sim.clients.sagemaker.describe_model_package(ModelPackageName=package.arn)
        sim.deliver(sim.bus.put(package_event(described, sim.now), sim.now))
