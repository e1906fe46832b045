"""``simulate``: set the world up, bootstrap a served model, run the agenda to the end.

One moto server (``ops.local.emulator.moto_server``) on 127.0.0.1 holds the
stack for the whole run, its clock set to the simulation's
(``ops.simulate.clock``). Before the first simulated hour the stack is
bootstrapped as a team would: ``pulumi up`` without a model, a history of data
in ``raw/``, one manual training run, its approval, the pull request that pins
it, and the deploy that creates the endpoint. Then the agenda runs hour by hour
until the scenario ends. Job steps run through the warm start unless told not
to.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from ml.errors import MlopsError
from ops.simulate import reactions, rollouts, services
from ops.simulate.agenda import ORDER, Agenda
from ops.simulate.alarms import AlarmWatch
from ops.simulate.clock import SimClock, emulator_clock
from ops.simulate.delivery import Repository
from ops.simulate.events import Bus, DeliveryPolicy
from ops.simulate.runs import PipelineRuns
from ops.simulate.scenario import Scenario
from ops.simulate.state import Sim
from ops.simulate.timeline import Timeline

START = datetime(2026, 3, 2, tzinfo=UTC)
BOOTSTRAP = timedelta(hours=6)
HANDLERS: dict[str, Callable[[Sim, Any], None]] = {
    "slice": services.on_slice,
    "hour": services.on_hour,
    "fire": services.on_fire,
    "finish": services.on_finish,
    "judge": services.on_judge,
    "deliver": reactions.on_deliver,
    "operator": reactions.on_operator,
    "approve": reactions.on_approve,
    "review": reactions.on_review,
    "deploy": rollouts.on_deploy,
    "rollout": rollouts.on_rollout,
    "minute": rollouts.on_minute,
}
JUDGE_RANK = ORDER.index("judge")


class SimulationError(MlopsError):
    """The simulation could not set its world up or run it."""


@dataclass
class SimulationResult:
    """What a run produced: the record, the checks, where the files are, what it cost."""

    scenario: Scenario
    work_dir: Path
    timeline: Timeline
    checks: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    setup_seconds: float = 0.0  # emulator, warm start and bootstrap, before the first hour
    setup_cpu_seconds: float = 0.0
    steps: int = 0
    evaluations: int = 0
    events_put: int = 0
    costs: dict[str, tuple[float, float]] = field(default_factory=dict)
    run_costs: dict[str, tuple[float, ...]] = field(default_factory=dict)
    step_costs: dict[str, list[float]] = field(default_factory=dict)
    step_calls: list[tuple[str, float, float]] = field(default_factory=list)  # in run order
    timeline_path: Path | None = None
    report_path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    sim: Sim | None = None  # the finished simulation, for callers that read its parts

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


@dataclass(frozen=True)
class Attach:
    """An emulator that already runs in this process, and a stack file that pins what serves.

    ``mlops demo`` hands over its moto server and prod's pinned stack file: the
    simulation starts from there, at ``start``, with no bootstrap run.
    """

    endpoint_url: str
    stack_file: Path
    start: datetime


class Simulation:
    """One simulated run, step by step: enter it, ``run`` until a condition, ``finish`` it.

    Entering starts the emulator (unless ``attach`` brings one), sets its clock,
    starts the warm start and bootstraps the stack; leaving stops them again.
    """

    def __init__(
        self,
        scenario: Scenario,
        work_dir: Path,
        seed: int = 7,
        stack: str = "prod",
        console: Console | None = None,
        warm: bool = True,
        attach: Attach | None = None,
        delivery: DeliveryPolicy | None = None,
    ) -> None:
        self.delivery = delivery or DeliveryPolicy()
        self.scenario, self.work_dir, self.seed, self.stack = (
            scenario,
            work_dir.resolve(),
            seed,
            stack,
        )
        self.console = console or Console(stderr=True)
        self.warm, self.attach = warm, attach
        self._exit = ExitStack()
        self.sim: Sim | None = None
        self.launcher: Any = None
        self.result = SimulationResult(scenario, self.work_dir, Timeline(START))
        self._started, self._cpu = time.perf_counter(), _cpu_seconds()

    def __enter__(self) -> Simulation:
        from ops.local.emulator import moto_server

        for folder in ("repo", "monitoring", "training", "logs", "models", "capture", "report"):
            shutil.rmtree(self.work_dir / folder, ignore_errors=True)
        attach = self.attach
        start = attach.start if attach else START
        clock = SimClock(start - (timedelta(0) if attach else BOOTSTRAP))
        try:
            url = (
                attach.endpoint_url
                if attach
                else self._exit.enter_context(moto_server(self.work_dir / "moto.log"))
            )
            self._exit.enter_context(emulator_clock(clock))
            template = attach.stack_file if attach else None
            sim = _new_sim(
                self.scenario,
                self.stack,
                url,
                clock,
                self.work_dir,
                self.seed,
                self.console,
                start,
                template,
            )
            sim.bus.policy = self.delivery
            self.sim, self.result.timeline, self.result.sim = sim, sim.timeline, sim
            self.launcher = self._exit.enter_context(_launcher(sim, self.warm))
            sim.runs.launcher = self.launcher
            sim.step_cpu = getattr(self.launcher, "children_cpu", sim.step_cpu)
            bootstrap(sim)
        except BaseException:
            self._exit.close()
            raise
        self.result.setup_seconds = time.perf_counter() - self._started
        self.result.setup_cpu_seconds = _cpu_seconds() + sim.step_cpu() - self._cpu
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def run(self, stop: Callable[[Sim], bool] | None = None) -> bool:
        """Run until ``stop`` holds (checked after each action) or the scenario ends."""
        assert self.sim is not None
        return run_until(self.sim, self.sim.end, stop)

    def finish(self) -> SimulationResult:
        """Run to the end; check the invariants; write the timeline and the report."""
        from ops.simulate.invariants import check_all
        from ops.simulate.report import write_report

        sim, result = self.sim, self.result
        assert sim is not None
        self.run()
        result.steps = getattr(self.launcher, "steps", 0)
        result.step_costs = dict(getattr(self.launcher, "by_module", {}))
        result.step_calls = list(getattr(self.launcher, "calls", []))
        result.checks = check_all(sim)
        result.evaluations, result.events_put = sim.alarms.evaluations, sim.bus.put_count
        result.costs = dict(sim.costs)
        result.run_costs = {role: tuple(v) for role, v in sim.run_costs.items()}
        result.seconds = time.perf_counter() - self._started
        result.cpu_seconds = _cpu_seconds() + sim.step_cpu() - self._cpu
        result.summary = summary(result)
        result.timeline_path = sim.timeline.write(self.work_dir / "timeline.json", result.summary)
        result.report_path = write_report(result)
        return result


def simulate(
    scenario: Scenario,
    work_dir: Path,
    seed: int = 7,
    stack: str = "prod",
    console: Console | None = None,
    warm: bool = True,
    attach: Attach | None = None,
) -> SimulationResult:
    """Run ``scenario`` on a fresh emulator (or ``attach``'s); check it; write timeline, report."""
    with Simulation(scenario, work_dir, seed, stack, console, warm, attach) as simulation:
        return simulation.finish()


def _new_sim(
    scenario: Scenario,
    stack: str,
    url: str,
    clock: SimClock,
    work_dir: Path,
    seed: int,
    console: Console,
    start: datetime,
    template: Path | None,
) -> Sim:
    from infra.config import load_stack
    from ops.local import container
    from ops.simulate.clients import sim_clients
    from ops.simulate.emulated_stack import GITHUB_DELIVERY, GITHUB_TOKEN, write_stack_file

    region = load_stack(stack).region
    clients = sim_clients(region, url)
    root = work_dir / "repo"
    repo = Repository(root, root / "environments" / f"Pulumi.{stack}.yaml")
    settings = (*scenario.settings, *GITHUB_DELIVERY)
    write_stack_file(stack, repo.main, settings, template, GITHUB_TOKEN)
    repo.init()
    return Sim(
        scenario=scenario,
        stack=stack,
        clients=clients,
        clock=clock,
        work_dir=work_dir,
        seed=seed,
        console=console,
        agenda=Agenda(),
        timeline=Timeline(start),
        repo=repo,
        runs=PipelineRuns(clients, work_dir, container.run, console),
        alarms=AlarmWatch(clients),
        bus=Bus(clients, DeliveryPolicy(), seed),
    )


class _Plain:
    """The subprocess launcher, with nothing to stop."""

    def __enter__(self) -> Any:
        from ops.local import container

        return container.run

    def __exit__(self, *exc: object) -> None:
        return None


def _launcher(sim: Sim, warm: bool) -> Any:
    if not warm:
        return _Plain()
    from ops.simulate.warm_start import WarmStart, base_environment

    return WarmStart(base_environment(sim.clients.aws.step_environment()))


def bootstrap(sim: Sim) -> None:
    """Before the first hour: the stack up, a history of data, a model trained and served.

    A stack file that already pins a package (``Attach``) is served as it is;
    otherwise one manual training run is approved, pinned and deployed.
    """
    from ops.simulate.traffic import World

    rollouts.pulumi_up(sim)
    assert sim.plan is not None
    outputs, start = sim.plan.outputs, sim.timeline.start
    buckets = {"data": str(outputs["dataBucket"]), "monitoring": str(outputs["monitoringBucket"])}
    sim.world = World(sim.scenario, sim.clients.s3, buckets, start, sim.work_dir, sim.seed)
    landed = sim.world.bootstrap_drop()
    sim.record("data_drop", key=landed.key, bytes=landed.size, bootstrap=True)
    pipeline = str(outputs["trainingPipelineName"])
    pinned = sim.plan.config.serving.model_package_arn
    if pinned is not None:
        services.registry_events(sim)
        rollouts.start_update(sim, pinned, None)
    else:
        sim.agenda.add(sim.now, "operator", ("manual run", pipeline))
    run_until(sim, start)
    if sim.endpoint is None or sim.endpoint.serving is None:
        failed = [e for e in sim.runs.executions.values() if e.status == "Failed"]
        why = f": {failed[0].failure}" if failed else ""
        raise SimulationError(
            f"the bootstrap model did not reach the endpoint before the first hour{why}; "
            "see the runs under logs/ in the work directory"
        )
    sim.world.endpoint = sim.endpoint
    sim.record("bootstrapped", serving=sim.endpoint.serving.package_arn)
    sim.agenda.add(start, "hour")
    sim.agenda.add(start + timedelta(minutes=sim.scenario.slice_minutes), "slice")
    if sim.scenario.bad_fleet_hour is not None:
        sim.agenda.add(
            start + timedelta(hours=sim.scenario.bad_fleet_hour),
            "operator",
            ("pin by hand", None),
        )


def run_until(sim: Sim, until: datetime, stop: Callable[[Sim], bool] | None = None) -> bool:
    """Do what the agenda and the alarms hold, in time order, up to ``until`` or ``stop``.

    Returns whether ``stop`` held.
    """
    while True:
        top = sim.agenda.peek()
        due = sim.alarms.next_due()
        judge_first = due is not None and (top is None or (due, JUDGE_RANK) < (top.at, top.rank))
        at = due if judge_first else (top.at if top else None)
        if at is None or at > until:
            break
        sim.clock.advance_to(max(at, sim.now))
        began, cpu = time.perf_counter(), sim.cpu()
        if judge_first:
            kind = "judge"
            services.on_judge(sim, None)
        else:
            action = sim.agenda.pop()
            kind = action.kind
            HANDLERS[kind](sim, action.payload)
        wall, used = sim.costs.get(kind, (0.0, 0.0))
        sim.costs[kind] = (wall + time.perf_counter() - began, used + sim.cpu() - cpu)
        if stop is not None and stop(sim):
            return True
    sim.clock.advance_to(max(until, sim.now))
    return False


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the job steps)."""
    import os

    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def summary(result: SimulationResult) -> dict[str, Any]:
    """The run's figures for the timeline's head and the report."""
    return {
        "scenario": result.scenario.name,
        "simulated_hours": result.scenario.hours,
        "wall_seconds": round(result.seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
        "setup_wall_seconds": round(result.setup_seconds, 1),
        "setup_cpu_seconds": round(result.setup_cpu_seconds, 1),
        "job_steps": result.steps,
        "alarm_evaluations": result.evaluations,
        "events_put": result.events_put,
        "passed": result.passed,
        "seconds_by_action": {
            kind: {"wall": round(wall, 1), "cpu": round(cpu, 1)}
            for kind, (wall, cpu) in sorted(result.costs.items())
        },
        "seconds_by_step": {
            module: {"steps": int(n), "wall": round(wall, 1), "cpu": round(cpu, 1)}
            for module, (n, wall, cpu) in sorted(result.step_costs.items())
        },
        "seconds_by_pipeline": {
            role: {"runs": int(runs), "wall": round(wall, 1), "cpu": round(cpu, 1)}
            for role, (runs, wall, cpu) in sorted(result.run_costs.items())
        },
        "checks": [check.to_dict() for check in result.checks],
    }
