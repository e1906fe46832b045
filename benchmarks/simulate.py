"""How long simulated days take, and where the time goes.

Run: ``.venv/bin/python benchmarks/simulate.py [--scenario week] [--days N] [--cold]``.
Runs the scenario once (the week by default) and prints: simulated days, wall
and CPU seconds with the setup (emulator, warm start, bootstrap run) apart,
whether the week took at most five minutes, the machine's load while it ran
(the machine is shared: CPU seconds are the figure that does not depend on
it), and the time by action, by pipeline and by job step. ``--cold`` runs the
job steps as plain subprocesses, to show what the warm start saves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BOUND_SECONDS = 300  # 7 simulated days in at most 5 minutes


def main() -> int:
    from rich.console import Console

    from ops.simulate.engine import simulate
    from ops.simulate.scenario import scenario_named

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="week")
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="plain subprocesses, no warm start")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    scenario = scenario_named(args.scenario)
    if args.days is not None:
        scenario = scenario.with_days(args.days)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="simulate-") as scratch:
        work_dir = args.work_dir or Path(scratch)
        result = simulate(
            scenario, work_dir, seed=args.seed, console=Console(quiet=True), warm=not args.cold
        )
    load_after = os.getloadavg()
    summary = result.summary
    days = scenario.hours / 24
    running = result.seconds - result.setup_seconds
    print(f"scenario {scenario.name}: {days:g} simulated days, {os.cpu_count()} cores")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    print(
        f"wall {result.seconds:.0f} s (setup {result.setup_seconds:.0f} s, "
        f"simulated days {running:.0f} s); CPU {result.cpu_seconds:.0f} s "
        f"(setup {result.setup_cpu_seconds:.0f} s)"
    )
    if scenario.hours >= 7 * 24:
        week = running * 7 * 24 / scenario.hours
        verdict = "within" if week <= BOUND_SECONDS else "over"
        print(f"7 simulated days: {week:.0f} s, {verdict} the {BOUND_SECONDS} s bound")
    for title, key in (
        ("by action", "seconds_by_action"),
        ("by pipeline", "seconds_by_pipeline"),
        ("by job step", "seconds_by_step"),
    ):
        print(f"{title}:")
        rows = sorted(summary.get(key, {}).items(), key=lambda item: -item[1].get("cpu", 0))
        for name, figures in rows:
            print(f"  {name:<32} {json.dumps(figures)}")
    print(f"invariants: {sum(c.passed for c in result.checks)} of {len(result.checks)} hold")
    for check in result.checks:
        print(f"  {'pass' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
