"""Scenarios: what happens to the world, hour by hour, while the platform runs.

A scenario is a timeline in simulated hours (healthy, then covariate drift, then
a fraud-pattern change, then a bad model fleet, with a broken monitoring job
for a few hours), the volumes the generator draws (hourly data drops and
captured requests), how labels arrive (after a delay, for part of the traffic),
how fast the people in the loop act (the reviewer who approves a package and
the one who reviews its pull request), and the stack settings the scenario runs
under (the training cadence is one: data lands hourly, training need not).

``week`` is the full seven days; ``short`` compresses the same story into a day
for the tests; ``demo`` is the shortest, for ``mlops demo``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from ml.errors import MlopsError

HEALTHY = "healthy"
AMOUNT_DRIFT = "amount_shift"
PATTERN_CHANGE = "fraud_pattern_change"
EARLIEST_LABEL, LATEST_LABEL = 0.5, 1.5  # a label arrives this many label delays after
COVERAGE_MARGIN = 0.1


@dataclass(frozen=True)
class Phase:
    """From ``start_hour`` on, the generator draws data with ``drift`` (None: healthy)."""

    start_hour: float
    name: str
    drift: str | None


@dataclass(frozen=True)
class Scenario:
    """Everything the simulated world does; hours count from the simulation's start."""

    name: str
    hours: int
    phases: tuple[Phase, ...]
    # The first deployment that starts at or after this hour gets a fleet that fails.
    bad_fleet_hour: float | None
    # The endpoint writes unreadable capture in [start, end): the drift job cannot run.
    broken_monitoring: tuple[float, float] | None
    rows_per_drop: int
    captured_per_hour: int
    bootstrap_rows: int
    label_delay_hours: float
    label_share: float
    approve_after: timedelta
    review_after: timedelta
    # A file without labels lands in raw/ at this hour: Validate must quarantine it.
    corrupt_drop_hour: int | None
    stack_settings: tuple[str, ...] = field(default_factory=tuple)
    bad_fleet_error_share: float = 0.3
    slice_minutes: int = 60

    @property
    def settings(self) -> tuple[str, ...]:
        """The stack's settings: the scenario's, and what the stack is told about its labels.

        Labels arrive 0.5 to 1.5 label delays after the prediction (``traffic``), for
        ``label_share`` of it: the quality job waits the longest delay, and reports
        a cohort whose coverage is at least the share less a margin for chance.
        """
        delay = math.ceil(self.label_delay_hours * LATEST_LABEL)
        coverage = math.floor((self.label_share - COVERAGE_MARGIN) * 100) / 100
        return (
            *self.stack_settings,
            f"monitoring.quality.labelDelayHours={delay}",
            f"monitoring.quality.minLabelCoverage={coverage:g}",
        )

    def phase_at(self, hour: float) -> Phase:
        """The phase in force at ``hour`` (the last one started at or before it)."""
        current = self.phases[0]
        for phase in self.phases:
            if phase.start_hour <= hour:
                current = phase
        return current

    def onset(self, name: str) -> float | None:
        """The hour a named phase starts, if the scenario has it."""
        return next((p.start_hour for p in self.phases if p.name == name), None)

    def monitoring_broken_at(self, hour: float) -> bool:
        window = self.broken_monitoring
        return window is not None and window[0] <= hour < window[1]

    def with_days(self, days: float) -> Scenario:
        """The same scenario run for ``days`` (its later events fall off the end)."""
        from dataclasses import replace

        if days <= 0:
            raise MlopsError(f"--days must be positive, got {days}")
        return replace(self, hours=round(days * 24))


# A training run a day at 03:00 UTC, or a week on Sundays; alarms start the runs that cannot
# wait. Data lands every hour either way: the cadence is a decision, priced by ``mlops cost``.
DAILY_TRAINING = "pipeline.schedule=cron(0 3 * * ? *)"
WEEKLY_TRAINING = "pipeline.schedule=cron(0 3 ? * SUN *)"
NO_SCHEDULED_TRAINING = "pipeline.scheduleEnabled=false"
# A day of labelled predictions is what the quality job judges (the default, a week, re-reads
# seven days of capture every hour).
DAY_OF_QUALITY = "monitoring.quality.windowHours=24"
# The gates' absolute floors are below what the generator's models reach on these volumes once
# the world changes (PR AUC about 0.5 healthy, 0.48 after the amount shift, 0.23 after the
# fraud-pattern change): a better model than the champion must still be able to serve, so the
# champion comparison (the paired bootstrap with its margins) is what decides here.
WORLD_FLOORS = (
    "pipeline.gates.minPrAuc=0.15",
    "pipeline.gates.minPrecision=0",
    "pipeline.gates.minRecall=0",
)

WEEK = Scenario(
    name="week",
    hours=7 * 24,
    phases=(
        Phase(0, HEALTHY, None),
        Phase(72, "drift", AMOUNT_DRIFT),
        Phase(108, "fraud-pattern change", PATTERN_CHANGE),
    ),
    bad_fleet_hour=144,
    broken_monitoring=(156, 162),
    rows_per_drop=400,
    captured_per_hour=400,
    bootstrap_rows=40_000,
    label_delay_hours=12,
    label_share=0.6,
    approve_after=timedelta(hours=2),
    review_after=timedelta(hours=1),
    corrupt_drop_hour=30,
    stack_settings=(WEEKLY_TRAINING, DAY_OF_QUALITY, *WORLD_FLOORS),
)

SHORT = Scenario(
    name="short",
    hours=24,
    phases=(
        Phase(0, HEALTHY, None),
        Phase(4, "drift", AMOUNT_DRIFT),
        Phase(10, "fraud-pattern change", PATTERN_CHANGE),
    ),
    bad_fleet_hour=16,
    broken_monitoring=(19, 23),
    rows_per_drop=400,
    captured_per_hour=400,
    bootstrap_rows=40_000,
    label_delay_hours=2,
    label_share=0.6,
    approve_after=timedelta(minutes=30),
    review_after=timedelta(minutes=30),
    corrupt_drop_hour=2,
    stack_settings=(
        DAILY_TRAINING,
        DAY_OF_QUALITY,
        "monitoring.retrainCooldownMinutes=240",
        *WORLD_FLOORS,
    ),
)

DEMO = Scenario(
    name="demo",
    hours=8,
    phases=(Phase(0, HEALTHY, None), Phase(2, "drift", AMOUNT_DRIFT)),
    bad_fleet_hour=None,
    broken_monitoring=None,
    rows_per_drop=400,
    captured_per_hour=400,
    bootstrap_rows=100_000,  # the demo's drop size: the champion trained on as many rows
    label_delay_hours=2,
    label_share=0.6,
    approve_after=timedelta(minutes=30),
    review_after=timedelta(minutes=30),
    corrupt_drop_hour=None,
    # The demo's hours are the wall clock's: a scheduled training run inside them would
    # change the champion before the alarm-started run the demo shows, at some hours only.
    stack_settings=(NO_SCHEDULED_TRAINING, DAY_OF_QUALITY, *WORLD_FLOORS),
)

SCENARIOS = {scenario.name: scenario for scenario in (WEEK, SHORT, DEMO)}


def scenario_named(name: str) -> Scenario:
    """A scenario by name; an unknown one is a clear error naming the choices."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise MlopsError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}"
        ) from None
