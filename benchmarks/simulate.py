"""How long simulated days take, and where the time goes.

Run: ``.venv/bin/python benchmarks/simulate.py [--scenario week] [--days N] [--cold]``.
Runs the scenario once (the week by default) and prints: simulated days, wall
and CPU seconds with the setup (emulator, warm start, bootstrap run) apart,
whether the week took at most five minutes, the machine's load while it ran
(the machine is shared: CPU seconds are the figure that does not depend on
it), and the time by action, by pipeline and by job step. For each hourly
step it also gives the seconds a run, day by day (work that grows with the
hours elapsed shows there), and the emulator's requests (``moto.log``) by
kind, per simulated hour. ``--cold`` runs the job
steps as plain subprocesses, to show what the warm start saves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BOUND_SECONDS = 300  # 7 simulated days in at most 5 minutes
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)?([A-Z]+) (/[^ ?]*)(\?[^ ]*)? HTTP')


def request_kinds(log: Path) -> Counter[str]:
    """The emulator's requests by kind: S3 verb and top folder, or a JSON/query API call."""
    kinds: Counter[str] = Counter()
    if not log.is_file():
        return kinds
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        found = REQUEST.search(line)
        if found is None:
            continue
        method, path, query = found.groups()
        parts = path.strip("/").split("/")
        if path == "/" or parts[0].startswith("moto-api"):
            kinds["API calls (POST /: CloudWatch, SageMaker, EventBridge, SQS, ...)"] += 1
            continue
        listing = method == "GET" and bool(query) and "list-type" in query
        if listing:  # the folder is the listing's prefix
            prefix = parse_qs((query or "?")[1:]).get("prefix", [""])[0]
            parts = [parts[0], *prefix.split("/")]
        verb = "LIST" if listing else method
        where = parts[1] if len(parts) > 1 and parts[1] else "(bucket)"
        kinds[f"S3 {verb} {where}/"] += 1
    return kinds


def step_days(calls: list[tuple[str, float, float]], per_day: int) -> dict[str, list[list[float]]]:
    """Per hourly module: its mean [wall, CPU] seconds a run on each simulated day."""
    by_module: dict[str, list[tuple[float, float]]] = {}
    for module, wall, cpu in calls:
        by_module.setdefault(module, []).append((wall, cpu))
    out = {}
    for module, runs in by_module.items():
        if len(runs) < per_day:
            continue  # not an hourly step
        days = [runs[first : first + per_day] for first in range(0, len(runs), per_day)]
        out[module] = [
            [round(sum(run[i] for run in day) / len(day), 2) for i in (0, 1)] for day in days
        ]
    return out


def report(result: Any, scenario: Any, load: tuple[float, float], kinds: Counter[str]) -> None:
    summary = result.summary
    days = scenario.hours / 24
    running = result.seconds - result.setup_seconds
    print(f"scenario {scenario.name}: {days:g} simulated days, {os.cpu_count()} cores")
    print(f"load average before {load[0]:.1f}, after {load[1]:.1f} (1 min)")
    print(
        f"wall {result.seconds:.0f} s (setup {result.setup_seconds:.0f} s, "
        f"simulated days {running:.0f} s); CPU {result.cpu_seconds:.0f} s "
        f"(setup {result.setup_cpu_seconds:.0f} s)"
    )
    if scenario.hours >= 7 * 24:
        week = running * 7 * 24 / scenario.hours
        verdict = "within" if week <= BOUND_SECONDS else "over"
        print(f"7 simulated days: {week:.0f} s, {verdict} the {BOUND_SECONDS} s bound")
    print(
        f"job steps {summary.get('job_steps')}, alarm evaluations "
        f"{summary.get('alarm_evaluations')}, events put {summary.get('events_put')}"
    )
    for title, key in (
        ("by action", "seconds_by_action"),
        ("by pipeline", "seconds_by_pipeline"),
        ("by job step", "seconds_by_step"),
    ):
        print(f"{title}:")
        rows = sorted(summary.get(key, {}).items(), key=lambda item: -item[1].get("cpu", 0))
        for name, figures in rows:
            print(f"  {name:<32} {json.dumps(figures)}")
    print("an hourly step's run, day by day ([wall, CPU] seconds; 24 runs a day):")
    for module, figures in step_days(result.step_calls, 24).items():
        print(f"  {module:<32} {' '.join(json.dumps(day) for day in figures)}")
    total = sum(kinds.values())
    print(f"emulator requests: {total} ({total / max(scenario.hours, 1):.0f} a simulated hour)")
    for kind, count in kinds.most_common(12):
        print(f"  {count:>7}  {kind}")
    print(f"invariants: {sum(c.passed for c in result.checks)} of {len(result.checks)} hold")
    for check in result.checks:
        print(f"  {'pass' if check.passed else 'FAIL'}  {check.name}: {check.detail}")


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
        kinds = request_kinds(work_dir / "moto.log")
    report(result, scenario, (load_before[0], os.getloadavg()[0]), kinds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
