"""The simulation's shared state: the parts, the stack as deployed, and helpers they all use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ops.simulate.agenda import Agenda
from ops.simulate.alarms import AlarmWatch
from ops.simulate.delivery import Repository
from ops.simulate.emulated_stack import Applied
from ops.simulate.endpoint import Endpoint
from ops.simulate.events import Bus, Delivery
from ops.simulate.runs import PipelineRuns
from ops.simulate.scenario import Scenario
from ops.simulate.timeline import Timeline

if TYPE_CHECKING:
    from infra.plan.engine import Plan
    from ops.simulate.clients import SimClients
    from ops.simulate.clock import SimClock
    from ops.simulate.traffic import World


@dataclass
class HourTally:
    """What one hour of traffic added up to."""

    requests: int = 0
    errors: int = 0


@dataclass
class Sim:
    """Everything the handlers share."""

    scenario: Scenario
    stack: str
    clients: SimClients
    clock: SimClock
    work_dir: Path
    seed: int
    console: Console
    agenda: Agenda
    timeline: Timeline
    repo: Repository
    runs: PipelineRuns
    alarms: AlarmWatch
    bus: Bus
    world: World | None = None
    endpoint: Endpoint | None = None
    plan: Plan | None = None
    applied: Applied = field(default_factory=Applied)
    models: dict[str, Any] = field(default_factory=dict)
    registry: dict[str, str] = field(default_factory=dict)
    awaiting_approval: set[str] = field(default_factory=set)
    tally: HourTally = field(default_factory=HourTally)
    last_psi: tuple[datetime, float] | None = None
    bad_fleet_used: bool = False
    deploys: int = 0
    # Wall and CPU seconds by action kind; ``step_cpu`` reads the warm start's steps' CPU.
    costs: dict[str, tuple[float, float]] = field(default_factory=dict)
    step_cpu: Callable[[], float] = field(default=lambda: 0.0)
    run_costs: dict[str, list[float]] = field(default_factory=dict)  # role: runs, wall, cpu

    def cpu(self) -> float:
        """CPU seconds so far: this process (the emulator's threads too), its steps."""
        import os

        times = os.times()
        return (
            times.user
            + times.system
            + times.children_user
            + times.children_system
            + (self.step_cpu())
        )

    @property
    def now(self) -> datetime:
        return self.clock.now

    @property
    def end(self) -> datetime:
        return self.timeline.start + timedelta(hours=self.scenario.hours)

    def hour(self, at: datetime | None = None) -> float:
        return self.timeline.hours(at or self.now)

    def record(self, kind: str, **detail: Any) -> None:
        self.timeline.record(self.now, kind, hour=round(self.hour(), 3), **detail)

    def deliver(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self.agenda.add(delivery.at, "deliver", delivery)

    def model(self, package_arn: str) -> Any:
        """The model a package names, loaded as the endpoint loads it (cached by ARN)."""
        if package_arn not in self.models:
            from ml.inference import model_fn
            from ml.model_artifact import TARBALL
            from pipelines.jobs.capture_window import model_data_url
            from pipelines.s3 import split_s3_uri

            url = model_data_url(self.clients.sagemaker, package_arn)
            bucket, key = split_s3_uri(url)
            folder = self.work_dir / "models" / package_arn.rsplit("/", 1)[-1]
            folder.mkdir(parents=True, exist_ok=True)
            self.clients.s3.download_file(bucket, key, str(folder / TARBALL))
            self.models[package_arn] = model_fn(folder)
        return self.models[package_arn]

    def monitoring_arguments(self, step: str) -> dict[str, str]:
        """A monitoring step's planned ``--flag value`` arguments."""
        from ops.simulate.emulated_stack import pipeline_definition
        from pipelines.definitions.monitoring import step_arguments

        if self.plan is None or not self.plan.outputs.get("monitoringPipelineName"):
            return {}
        name = str(self.plan.outputs["monitoringPipelineName"])
        try:
            return step_arguments(pipeline_definition(self.plan, name), step)
        except KeyError:
            return {}

    @property
    def group(self) -> str:
        if self.plan is None:
            raise LookupError("the stack has not been planned yet")
        return str(self.plan.outputs["modelPackageGroupName"])
