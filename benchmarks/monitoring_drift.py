"""Drift monitoring measured: quiet on healthy hours, quick on every drift, fast on a million rows.

Run with ``.venv/bin/python benchmarks/monitoring_drift.py`` (``--quick``: one healthy day,
two start hours per scenario, 3 speed repeats). Prints the figures quoted in docs/monitoring.md.

- Healthy traffic: days of undrifted traffic at ``ROWS_PER_DAY``, each hourly window holding
  its own clock hour (``ml.data.generate(..., hour=h)``), compared as the drift job compares
  it (``ml.drift.compute_drift`` with the prod minimum rows, ``ml.score_drift`` against the
  same hour of the ``scoreReferenceDays`` days before); alarms judged by CloudWatch's M-of-N
  rule at the prod thresholds. Goal: 0 drift, warn and flag-rate alarms.
- Drift: every scenario of ``ml.data.DRIFT_SCENARIOS`` starting at several clock hours;
  windows until the drift alarm or the flag-rate alarm is in ALARM. Goal: at most 2.
- Speed: ``compute``-side drift of 1,000,000 rows per numeric feature (one ordering pass,
  PSI, exact KS and Wasserstein against the baseline) side by side with
  ``scipy.stats.ks_2samp`` + ``wasserstein_distance`` on the same two samples; min and max
  over repeats, and the largest difference of the numbers. Goal: >= 20x, equal to 1e-9.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from monitoring_common import (
    ROWS_PER_DAY,
    Defaults,
    alarm_states,
    prod_defaults,
    section,
    timed_range,
    train,
)

SCENARIO_STARTS = (0, 3, 6, 9, 12, 15, 18, 21)


class Traffic:
    """Hourly windows of generated traffic scored by one model, with same-hour references."""

    def __init__(self, model_dir: Path, defaults: Defaults) -> None:
        from ml.data import hourly_rows
        from ml.drift import load_baseline
        from ml.inference import model_fn

        self.model = model_fn(model_dir)
        self.baseline = load_baseline(model_dir)
        self.defaults = defaults
        self.rows = hourly_rows(ROWS_PER_DAY)
        self.references = [self._reference(hour) for hour in range(24)]

    def _reference(self, hour: int) -> np.ndarray:
        days = range(1, self.defaults.reference_days + 1)
        return np.concatenate([self.scores(hour, 10_000 * day + hour)[1] for day in days])

    def scores(self, hour: int, seed: int, drift: str | None = None) -> tuple[Any, np.ndarray]:
        from ml.data import generate
        from ml.inference import predict_fn

        frame = generate(int(self.rows[hour]), seed, drift, hour=hour)
        return frame, predict_fn(frame, self.model)[:, 0]

    def window(self, hour: int, seed: int, drift: str | None = None) -> dict[str, Any]:
        """What the drift job publishes for one hour: MaxPSI and FlagRateChangeZ, or None."""
        from ml.drift import Thresholds, compute_drift
        from ml.score_drift import score_drift

        d = self.defaults
        frame, scores = self.scores(hour, seed, drift)
        report = compute_drift(
            self.baseline,
            frame,
            Thresholds(d.psi_warn, d.psi_alarm),
            min_rows=d.min_rows,
            hours_covered=1,
        )
        reference = self.references[hour]
        flags = score_drift(
            scores, reference, self.model.threshold, tolerance=d.tolerance, min_rows=d.min_rows
        )
        measured = "max_psi" in report["summary"]
        return {
            "psi": report["summary"]["max_psi"] if measured else None,
            "feature": report["summary"].get("max_psi_feature"),
            "z": flags["flag_rate_change"]["z"] if flags["status"] == "measured" else None,
            "old_psi": compute_drift(self.baseline, frame, hours_covered=24)["summary"]["max_psi"],
            "features": {name: r["psi"] for name, r in report["features"].items()},
        }


def alarms(windows: list[dict[str, Any]], defaults: Defaults) -> dict[str, list[str]]:
    """The states of the drift warn, drift and flag-rate alarms after each window, and
    ``drift-feature-*``: ALARM where any feature's own alarm is in ALARM."""
    psi = [w["psi"] for w in windows]
    names = sorted({name for w in windows for name in w["features"]})
    per_feature = [
        alarm_states([w["features"].get(name) for w in windows], defaults.psi_alarm, defaults)
        for name in names
    ]
    return {
        "drift-warn": alarm_states(psi, defaults.psi_warn, defaults),
        "drift-alarm": alarm_states(psi, defaults.psi_alarm, defaults),
        "drift-feature-*": [
            "ALARM" if "ALARM" in states else "OK" for states in zip(*per_feature, strict=True)
        ],
        "drift-flag-rate": alarm_states([w["z"] for w in windows], defaults.z, defaults),
    }


def bench_healthy(traffic: Traffic, days: int) -> None:
    d = traffic.defaults
    section(
        f"healthy traffic: {days} day(s) of hourly windows, {ROWS_PER_DAY:,} rows a day "
        f"({traffic.rows.min()}-{traffic.rows.max()} a window), each its own clock hour"
    )
    windows = [traffic.window(h, 100 + 24 * day + h) for day in range(days) for h in range(24)]
    states = alarms(windows, d)
    psi = np.array([w["psi"] for w in windows], dtype=float)
    z = np.array([w["z"] for w in windows], dtype=float)
    old = np.array([w["old_psi"] for w in windows])
    print(f"windows: {len(windows)}; max PSI: median {np.median(psi):.3f}, max {psi.max():.3f}")
    print(f"flag-rate z: median {np.median(z):.2f}, max {z.max():.2f} (alarm at {d.z:g})")
    for name, sequence in states.items():
        print(f"{name}: {sequence.count('ALARM')} of {len(sequence)} windows in ALARM (goal 0)")
    print(
        f"before (hour compared against the whole day): MaxPSI >= {d.psi_alarm:g} in "
        f"{int((old >= d.psi_alarm).sum())} of {len(old)} windows, median {np.median(old):.1f}"
    )


def bench_scenarios(traffic: Traffic, starts: tuple[int, ...]) -> None:
    from ml.data import DRIFT_SCENARIOS

    d = traffic.defaults
    section(f"drift scenarios: windows until the drift or flag-rate alarm (M={d.datapoints})")
    for scenario in DRIFT_SCENARIOS:
        needed, features, flag_alarms = [], set(), 0
        for start in starts:
            before = traffic.window((start - 1) % 24, 500 + start)
            drifted = [
                traffic.window((start + i) % 24, 600 + start + i, scenario) for i in range(3)
            ]
            states = alarms([before, *drifted], d)
            fired = [
                i
                for i in range(1, 4)
                if "ALARM"
                in (
                    states["drift-alarm"][i],
                    states["drift-feature-*"][i],
                    states["drift-flag-rate"][i],
                )
            ]
            needed.append(fired[0] if fired else None)
            features |= {w["feature"] for w in drifted}
            flag_alarms += "ALARM" in states["drift-flag-rate"]
        worst = "never" if None in needed else max(needed)  # type: ignore[type-var]
        by_start = dict(zip(starts, needed, strict=True))
        print(
            f"{scenario:<24} windows to alarm by start hour {by_start}; worst {worst} "
            f"(goal <= 2); top feature(s) {sorted(features)}; the flag-rate alarm alone "
            f"fired for {flag_alarms} of {len(starts)} starts"
        )


def bench_small_windows(traffic: Traffic) -> None:
    from ml.data import generate
    from ml.drift import compute_drift

    d = traffic.defaults
    section("small windows: share of undrifted windows at the alarm level (200 each)")
    for rows in (50, 100, 300, 1_000):
        old = [
            compute_drift(traffic.baseline, generate(rows, 900 + i, hour=i % 24), hours_covered=1)
            for i in range(200)
        ]
        level = np.mean([r["summary"]["max_psi"] >= d.psi_alarm for r in old])
        verdict = "insufficient data" if rows < d.min_rows else f"{level:.1%} at the alarm level"
        print(f"{rows:>5} rows: PSI alone {level:.1%}; with minRows {d.min_rows}: {verdict}")


def bench_speed(repeats: int) -> None:
    from scipy.stats import ks_2samp, wasserstein_distance

    from ml import schema
    from ml.data import generate
    from ml.distributions import Distribution, ks_and_wasserstein
    from ml.drift import build_baseline, compute_drift, psi
    from ml.drift_baseline import reference_distribution

    section(f"speed: 1,000,000 rows per numeric feature, min-max over {repeats} repeats")
    reference, current = generate(1_000_000, 0), generate(1_000_000, 1, "amount_shift")
    build = timed_range(lambda: build_baseline(reference), 1)
    baseline = build[2]
    print(
        f"build_baseline from 1,000,000 rows (every feature, one ordering pass): {build[0]:.2f} s"
    )
    total_ours, total_scipy, worst = 0.0, 0.0, 0.0
    for name in schema.NUMERIC_FEATURES:
        base = baseline["numeric"][name]
        saved = reference_distribution(base)
        ref, cur = reference[name].to_numpy(float), current[name].to_numpy(float)

        def ours(base=base, saved=saved, cur=cur) -> tuple[float, float, float]:
            column = Distribution.of(cur)
            edges = np.asarray(base["edges"])
            shift = psi(np.asarray(base["proportions"]), column.bin_counts(edges) / column.total)
            return (shift, *ks_and_wasserstein(saved, column))

        def theirs(ref=ref, cur=cur) -> tuple[float, float]:
            return ks_2samp(ref, cur).statistic, wasserstein_distance(ref, cur)

        fast, slow, (_, ks, w1) = timed_range(ours, repeats)
        s_fast, s_slow, (s_ks, s_w1) = timed_range(theirs, repeats)
        gap = max(abs(ks - s_ks), abs(w1 - s_w1) / max(abs(s_w1), 1.0))
        worst, total_ours, total_scipy = max(worst, gap), total_ours + fast, total_scipy + s_fast
        print(
            f"{name:<22} ours {fast * 1e3:6.1f}-{slow * 1e3:6.1f} ms  scipy "
            f"{s_fast * 1e3:6.0f}-{s_slow * 1e3:6.0f} ms  {s_fast / fast:5.1f}x  "
            f"|diff| {gap:.1e}  reference exact: {base['exact']}"
        )
    print(
        f"all numeric features: ours {total_ours:.3f} s, scipy {total_scipy:.2f} s: "
        f"{total_scipy / total_ours:.1f}x (goal >= 20x); largest difference {worst:.1e} "
        "(goal <= 1e-9)"
    )
    fast, slow, _ = timed_range(lambda: compute_drift(baseline, current), repeats)
    print(f"compute_drift, every feature of 1,000,000 rows: {fast:.2f}-{slow:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one healthy day, fewer starts")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    defaults = prod_defaults()
    print(f"prod defaults: {defaults}")
    bench_speed(3 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        traffic = Traffic(train(Path(tmp)), defaults)
        bench_healthy(traffic, 1 if args.quick else 3)
        bench_scenarios(traffic, SCENARIO_STARTS[::4] if args.quick else SCENARIO_STARTS)
        bench_small_windows(traffic)


if __name__ == "__main__":
    main()
