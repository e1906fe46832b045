"""The simulated day: each invariant of the loop, checked on one run of the short scenario.

The run is shared by the module (it takes minutes); each test reads one
invariant's verdict and the figures behind it from the run and its emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.simulate.engine import SimulationResult, simulate
from ops.simulate.invariants import Check
from ops.simulate.scenario import SHORT
from tests.cli import run_mlops

REPO = Path(__file__).resolve().parents[3]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulationResult]:
    yield simulate(SHORT, tmp_path_factory.mktemp("simulate"), seed=7)


def check(result: SimulationResult, prefix: str) -> Check:
    return next(c for c in result.checks if c.name.startswith(prefix))


def entries(result: SimulationResult, kind: str) -> list[dict]:
    document = json.loads(Path(str(result.timeline_path)).read_text())
    return [e for e in document["events"] if e["kind"] == kind]


@pytest.mark.slow
def test_healthy_hours_raise_no_monitoring_alarm_and_start_no_alarm_run(
    run: SimulationResult,
) -> None:
    healthy = check(run, "healthy days")
    assert healthy.passed, healthy.detail
    assert healthy.figures["alarms"] == healthy.figures["alarm_runs"] == 0


@pytest.mark.slow
def test_drift_is_caught_within_two_windows_and_a_better_model_serves_after_one_review(
    run: SimulationResult,
) -> None:
    drift = check(run, "drift")
    assert drift.passed, drift.detail
    # two hourly windows, the second judged by its monitoring run (8 simulated minutes)
    assert drift.figures["first_alarm_hour"] - drift.figures["onset_hour"] <= 2 + 8 / 60 + 1e-9
    assert (drift.figures["approvals"], drift.figures["reviews"]) == (1, 1)
    assert drift.figures["dataset_includes_change"]
    assert drift.figures["onset_to_serving_hours"] is not None


@pytest.mark.slow
def test_the_fraud_pattern_change_is_caught_within_the_label_delay_and_two_windows(
    run: SimulationResult,
) -> None:
    """The drift alarm is still in ALARM from the amount shift, so it sends nothing new; the
    feature that moved (``txn_count_24h``) enters ALARM on its own, and the run that answers
    it trained on the changed hours."""
    pattern = check(run, "fraud-pattern change")
    assert pattern.passed, pattern.detail
    assert (
        pattern.figures["first_alarm_hour"] - pattern.figures["onset_hour"]
        <= (pattern.figures["limit_hours"])
    )
    caught = [
        e
        for e in entries(run, "alarm")
        if e["state"] == "ALARM" and e["hour"] >= pattern.figures["onset_hour"]
    ]
    assert caught[0]["name"] == "mlops-prod-drift-feature-txn-count-24h"
    assert pattern.figures["dataset_includes_change"]


@pytest.mark.slow
def test_a_bad_fleet_is_rolled_back_within_five_minutes_and_the_previous_model_serves(
    run: SimulationResult,
) -> None:
    fleet = check(run, "bad fleet")
    assert fleet.passed, fleet.detail
    assert fleet.figures["rollback_minutes"] <= 5
    rollback = entries(run, "rollback_started")[0]
    assert rollback["restored"] != rollback["package"]


@pytest.mark.slow
def test_an_alarm_refused_in_the_cool_down_and_still_in_alarm_starts_one_run_after_it(
    run: SimulationResult,
) -> None:
    """Each sweep that starts a run follows a refusal it answers, one run each time."""
    waiting = [g for g in entries(run, "gate") if "waits for the sweep" in (g["reason"] or "")]
    swept = [s for s in entries(run, "sweep") if s["started"]]
    assert waiting and swept and len(swept) <= len(waiting)
    previous = float("-inf")
    for sweep in swept:
        assert any(previous < w["hour"] < sweep["hour"] for w in waiting), sweep["hour"]
        assert len(sweep["executions"]) == 1
        previous = sweep["hour"]


@pytest.mark.slow
def test_repeated_and_reordered_deliveries_start_nothing_twice(run: SimulationResult) -> None:
    repeated = check(run, "duplicated or reordered")
    assert repeated.passed, repeated.detail
    assert repeated.figures["repeated_deliveries"] > 0
    assert repeated.figures["runs_within_cooldown"] == []


@pytest.mark.slow
def test_every_landed_byte_is_kept_and_every_registered_dataset_fetches(
    run: SimulationResult,
) -> None:
    kept, fetched = check(run, "every byte"), check(run, "registered datasets")
    assert kept.passed, kept.detail
    assert fetched.passed, fetched.detail
    assert "quarantined copies" in kept.detail


@pytest.mark.slow
def test_a_broken_monitoring_job_raises_its_staleness_alarm_in_time(
    run: SimulationResult,
) -> None:
    broken = check(run, "a broken monitoring job")
    assert broken.passed, broken.detail
    assert broken.figures["hours_to_alarm"] is not None


@pytest.mark.slow
def test_the_timeline_and_the_report_are_written_with_their_plot(run: SimulationResult) -> None:
    document = json.loads(Path(str(run.timeline_path)).read_text())
    assert document["summary"]["scenario"] == "short"
    assert len(document["samples"]) == SHORT.hours
    report = Path(str(run.report_path))
    assert "drift onset -> better model serving in prod:" in report.read_text()
    assert (report.parent / "timeline.png").read_bytes()[:8] == PNG


def test_an_unknown_scenario_is_refused_with_one_line() -> None:
    completed = run_mlops("simulate", "--scenario", "month")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        "error: unknown scenario 'month'; choose one of week, short, demo"
    ]
