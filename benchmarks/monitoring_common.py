"""What the monitoring benchmarks share: the stack defaults they judge, a model, CloudWatch's rule.

Every alarm decision is made by ``ops.local.alarm_evaluation.judge`` (CloudWatch's
M-of-N rule with missing data not breaching) on the datapoints the jobs would
publish, with the thresholds of the prod stack's defaults (``infra.config``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Prod captures 20% of its traffic: 200,000 rows a day is a card issuer of a million a day.
ROWS_PER_DAY = 200_000
TRAIN_ROWS = 50_000


@dataclass(frozen=True)
class Defaults:
    """The prod stack's monitoring defaults, read from the typed config."""

    psi_warn: float
    psi_alarm: float
    min_rows: int
    datapoints: int
    periods: int
    z: float
    tolerance: float
    reference_days: int
    label_delay_hours: int
    window_hours: int
    min_positives: int
    min_segment_positives: int
    min_label_coverage: float


def prod_defaults() -> Defaults:
    from infra.config import load_stack

    monitoring = load_stack("prod").monitoring
    quality = monitoring.quality
    return Defaults(
        monitoring.psi_warn,
        monitoring.psi_alarm,
        monitoring.min_window_rows,
        monitoring.alarm_datapoints,
        monitoring.alarm_periods,
        monitoring.alarm_z,
        monitoring.flag_rate_tolerance,
        monitoring.score_reference_days,
        quality.label_delay_hours,
        quality.window_hours,
        quality.min_positives,
        quality.min_segment_positives,
        quality.min_label_coverage,
    )


def train(workdir: Path, rows: int = TRAIN_ROWS) -> Path:
    """A model trained by ``ml.train`` on ``rows`` generated rows (seed 1)."""
    from ml.data import generate
    from ml.io import write_table
    from ml.train import TrainParams, run_training

    write_table(generate(rows, seed=1), workdir / "train.parquet")
    started = time.perf_counter()
    run_training(workdir / "train.parquet", None, workdir / "model", TrainParams())
    print(f"model: trained on {rows:,} rows in {time.perf_counter() - started:.0f} s")
    return workdir / "model"


def alarm_states(values: Sequence[float | None], threshold: float, defaults: Defaults) -> list[str]:
    """The alarm's state after each hourly datapoint (None: nothing published that hour)."""
    from ops.local.alarm_evaluation import judge

    alarm: dict[str, Any] = {
        "AlarmName": "benchmark",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": threshold,
        "EvaluationPeriods": defaults.periods,
        "DatapointsToAlarm": defaults.datapoints,
        "TreatMissingData": "notBreaching",
        "StateValue": "OK",
    }
    states = []
    for end in range(1, len(values) + 1):
        alarm["StateValue"], _ = judge(alarm, list(values[:end]))
        states.append(alarm["StateValue"])
    return states


def timed_range(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Fastest and slowest wall time of ``repeats`` calls, in seconds, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), max(times), result


def section(title: str) -> None:
    print(f"\n== {title}")
