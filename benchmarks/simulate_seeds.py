"""The simulation's invariants over seeds: how often each holds, not whether one run passed.

Run: ``.venv/bin/python benchmarks/simulate_seeds.py [--scenario short] [--seeds 1,2,3]``.
Each seed draws its own data, traffic, labels and event deliveries (duplicates and
late copies), so one passing run can be luck. For every seed it runs the scenario
on a fresh emulator and prints each invariant's verdict and the figures that decide
it (hours from a change to its first alarm, from onset to the retrained model
serving, minutes from a bad fleet's first errors to its rollback); then, per
invariant, in how many seeds it held. About 100 to 150 s a seed for ``short`` on
two cores, about 15 minutes a seed for ``week``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's ml, not ml.py

FIGURES = {  # invariant name prefix: the figures printed for it
    "drift": ("first_alarm_hour", "onset_to_serving_hours"),
    "fraud-pattern change": ("first_alarm_hour", "onset_to_serving_hours"),
    "bad fleet": ("rollback_minutes",),
}


def seeds_of(text: str) -> list[int]:
    """``1,2,5`` or ``1-5`` (or both, comma-separated) as a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += list(range(int(first), int(last or first) + 1))
    return seeds


def figures_of(check: Any) -> str:
    """The check's deciding figures, as ``name=value`` pairs."""
    wanted = next((f for prefix, f in FIGURES.items() if check.name.startswith(prefix)), ())
    shown = []
    for name in wanted:
        value = check.figures.get(name)
        shown.append(f"{name}={value:.2f}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(shown)


def main() -> int:
    from rich.console import Console

    from ops.simulate.engine import simulate
    from ops.simulate.scenario import scenario_named

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="short")
    parser.add_argument("--seeds", default="1-5", help="e.g. 1-5 or 1,3,7")
    args = parser.parse_args()
    scenario = scenario_named(args.scenario)
    seeds = seeds_of(args.seeds)
    held: Counter[str] = Counter()
    names: list[str] = []
    for seed in seeds:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="simulate-seed-") as scratch:
            result = simulate(scenario, Path(scratch), seed=seed, console=Console(quiet=True))
        passed = sum(check.passed for check in result.checks)
        print(
            f"seed {seed}: {passed} of {len(result.checks)} hold "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        for check in result.checks:
            if check.name not in names:
                names.append(check.name)
            held[check.name] += check.passed
            print(f"  {'pass' if check.passed else 'FAIL'}  {check.name}  {figures_of(check)}")
    print(f"\n{scenario.name}: each invariant over {len(seeds)} seed(s) {seeds}")
    for name in names:
        print(f"  {held[name]} of {len(seeds)}  {name}")
    return 0 if all(held[name] == len(seeds) for name in names) else 1


if __name__ == "__main__":
    sys.exit(main())
