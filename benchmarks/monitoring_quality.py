"""Quality and bias alarms measured: rare on a healthy model, prompt when recall halves.

Run with ``.venv/bin/python benchmarks/monitoring_quality.py`` (``--quick``: 10 seeds).
Prints the figures quoted in docs/monitoring.md.

The stream: ``ROWS_PER_DAY`` captured predictions a day, drawn from 2,000,000 fresh
generated rows scored by one trained model, by clock hour. Labels arrive as a fraud
team's do: a legitimate row is settled after 2-3 days, a fraud the model flagged is
confirmed within hours (exponential, mean 12 h), a fraud it missed is charged back after
a lognormal delay (median 10 days; 8% take longer than 30 days). The quality job runs
every hour on the cohort that ended ``labelDelayHours`` before (``windowHours`` long),
with the prod defaults; its reference is an evaluation of ``TEST_ROWS`` fresh rows per
seed (a test split of a prod-sized training window; each seed draws its own). The counts
go through ``ml.quality_reference.quality_changes``, the code ``ml.quality`` runs, and
the published z values through CloudWatch's M-of-N rule. Goals: under 1% of windows in
ALARM for the healthy model; when recall halves, an alarm within the label delay plus
two windows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from monitoring_common import ROWS_PER_DAY, Defaults, alarm_states, prod_defaults, section, train

POOL_ROWS = 2_000_000
TEST_ROWS = 50_000
RUNS = 48  # hourly runs per seed
HOUR = 1.0


@dataclass
class Rows:
    """Scored rows: clock hour, merchant category code, label, flagged at the threshold."""

    hour: np.ndarray
    segment: np.ndarray
    fraud: np.ndarray
    flagged: np.ndarray
    names: list[str]

    @classmethod
    def scored(cls, model_dir: Path, rows: int, seed: int) -> Rows:
        from ml.data import generate
        from ml.inference import model_fn, predict_fn

        model = model_fn(model_dir)
        frame = generate(rows, seed)
        names, segment = np.unique(frame["merchant_category"].astype(str), return_inverse=True)
        flagged = predict_fn(frame, model)[:, 0] >= model.threshold
        return cls(
            frame["hour"].to_numpy(),
            segment,
            frame["is_fraud"].to_numpy().astype(bool),
            flagged,
            [str(n) for n in names],
        )

    def take(self, index: np.ndarray) -> Rows:
        return Rows(
            self.hour[index],
            self.segment[index],
            self.fraud[index],
            self.flagged[index],
            self.names,
        )


def reference(rows: Rows, d: Defaults) -> dict[str, Any]:
    """What ``ml.quality_reference.evaluation_reference`` reads from an evaluation of ``rows``."""
    caught = rows.fraud & rows.flagged
    positives, hits, flagged = int(rows.fraud.sum()), int(caught.sum()), int(rows.flagged.sum())
    return {
        "positives": positives,
        "true_positives": hits,
        "flagged": flagged,
        "recall": {"value": hits / positives},
        "precision": {"value": hits / flagged},
        "segments": _segments(rows, np.ones(rows.hour.size, dtype=bool), 0),
    }


def _segments(rows: Rows, keep: np.ndarray, least: int) -> dict[str, tuple[int, int]]:
    frauds = np.bincount(rows.segment[keep & rows.fraud], minlength=len(rows.names))
    caught = np.bincount(rows.segment[keep & rows.fraud & rows.flagged], minlength=len(rows.names))
    return {
        name: (int(caught[i]), int(frauds[i]))
        for i, name in enumerate(rows.names)
        if frauds[i] >= max(least, 1)
    }


def stream(pool: Rows, hours: int, rng: np.random.Generator, halve_from: float | None) -> dict:
    """``hours`` clock hours of traffic with event times and label delays (hours)."""
    from ml.data import hourly_rows

    per_hour = hourly_rows(ROWS_PER_DAY)
    by_hour = [np.flatnonzero(pool.hour == h) for h in range(24)]
    picks = [rng.choice(by_hour[h % 24], rng.poisson(per_hour[h % 24])) for h in range(hours)]
    rows = pool.take(np.concatenate(picks))
    when = np.concatenate([h + rng.random(p.size) for h, p in enumerate(picks)])
    flagged = rows.flagged.copy()
    if halve_from is not None:  # the model now misses half the frauds it used to catch
        flagged &= ~((when >= halve_from) & rows.fraud & (rng.random(when.size) < 0.5))
    caught = rows.fraud & flagged
    delay = np.where(
        rows.fraud,
        np.where(
            caught, rng.exponential(12.0, when.size), rng.lognormal(np.log(240), 0.8, when.size)
        ),
        48 + 24 * rng.random(when.size),
    )
    return {
        "rows": Rows(rows.hour, rows.segment, rows.fraud, flagged, rows.names),
        "when": when,
        "delay": delay,
    }


def run(traffic: dict, base: dict[str, Any], first_hour: int, d: Defaults) -> dict[str, Any]:
    """The quality job at ``labelDelay + first_hour + window``: the z values it publishes."""
    from ml.quality_reference import quality_changes

    rows, when, delay = traffic["rows"], traffic["when"], traffic["delay"]
    now = d.label_delay_hours + first_hour + d.window_hours
    cohort = (when >= first_hour) & (when < first_hour + d.window_hours)
    labelled = cohort & (delay <= now - when)
    coverage = labelled.sum() / max(cohort.sum(), 1)
    positives = int((labelled & rows.fraud).sum())
    hits = int((labelled & rows.fraud & rows.flagged).sum())
    flagged = int((labelled & rows.flagged).sum())
    counts = {}
    if coverage >= d.min_label_coverage:
        counts = {
            name: (hits, trials)
            for name, trials in (("recall", positives), ("precision", flagged))
            if trials >= d.min_positives
        }
    segments = _segments(rows, labelled, d.min_segment_positives)
    changes = quality_changes(counts, segments, base, d.min_positives, d.min_segment_positives)
    raw = _segments(rows, labelled, 5)
    recalls = [c / p for c, p in raw.values()]
    return {
        "recall": changes.get("recall", {}).get("z"),
        "precision": changes.get("precision", {}).get("z"),
        "bias": changes["segments"]["z"] if changes["segments"] else None,
        "old_gap": max(recalls) - min(recalls) if len(recalls) >= 2 else None,
        "coverage": coverage,
        "measured_recall": hits / positives if positives else None,
    }


def bench_healthy(pool: Rows, tests: Rows, seeds: int, d: Defaults) -> None:
    section(f"healthy model: {seeds} seeds x {RUNS} hourly runs, {ROWS_PER_DAY:,} rows a day")
    counts = {"recall": 0, "precision": 0, "bias": 0}
    measured, references, coverage, old_gap, windows = [], [], [], 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        base = reference(tests.take(rng.choice(tests.hour.size, TEST_ROWS, replace=False)), d)
        references.append(base["recall"]["value"])
        traffic = stream(pool, d.window_hours + RUNS, rng, None)
        runs = [run(traffic, base, j, d) for j in range(RUNS)]
        windows += RUNS
        for name in counts:
            counts[name] += alarm_states([r[name] for r in runs], d.z, d).count("ALARM")
        measured += [r["measured_recall"] for r in runs]
        coverage += [r["coverage"] for r in runs]
        old_gap += sum(1 for r in runs if r["old_gap"] is not None and r["old_gap"] > 0.3)
    true_recall = float((pool.fraud & pool.flagged).sum() / pool.fraud.sum())
    print(
        f"true recall {true_recall:.3f}; evaluated recall {np.mean(references):.3f} "
        f"(sd {np.std(references):.3f} over seeds, {TEST_ROWS:,}-row test splits); "
        f"measured {np.mean(measured):.3f}; label coverage min {min(coverage):.4f}"
    )
    for name, count in counts.items():
        share = count / windows
        print(f"{name} alarm: {count} of {windows} windows in ALARM = {share:.2%} (goal < 1%)")
    print(
        f"before: raw recall gap > 0.3 (the old bias alarm) in {old_gap / windows:.0%} of windows"
    )


def bench_halving(pool: Rows, tests: Rows, seeds: int, d: Defaults) -> None:
    deadline = d.label_delay_hours + 2 * d.window_hours
    section(
        f"recall halves at hour {d.window_hours}: hours until the recall alarm (goal <= {deadline})"
    )
    delays = []
    for seed in range(seeds):
        rng = np.random.default_rng(1_000 + seed)
        base = reference(tests.take(rng.choice(tests.hour.size, TEST_ROWS, replace=False)), d)
        change = float(d.window_hours)
        traffic = stream(pool, 3 * d.window_hours + RUNS, rng, change)
        runs = [run(traffic, base, j, d) for j in range(2 * d.window_hours + RUNS)]
        states = alarm_states([r["recall"] for r in runs], d.z, d)
        first = states.index("ALARM") if "ALARM" in states else None
        # Run j happens at labelDelay + j + window hours of the stream.
        delays.append(
            None if first is None else d.label_delay_hours + first + d.window_hours - change
        )
    found = [x for x in delays if x is not None]
    print(
        f"alarmed in {len(found)} of {seeds} seeds; hours after the change: median "
        f"{np.median(found):.0f}, max {max(found):.0f} (label delay {d.label_delay_hours} h + "
        f"{d.window_hours} h cohort); within {deadline} h: {sum(x <= deadline for x in found)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10 seeds")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    defaults = prod_defaults()
    seeds = 10 if args.quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = train(Path(tmp))
        pool = Rows.scored(model_dir, POOL_ROWS, seed=7)
        tests = Rows.scored(model_dir, POOL_ROWS // 2, seed=8)
    bench_healthy(pool, tests, seeds, defaults)
    bench_halving(pool, tests, seeds, defaults)


if __name__ == "__main__":
    main()
