"""Wall time of ``synthesize`` per stack, imports included, in a fresh interpreter each time.

Run: ``.venv/bin/python benchmarks/synth.py [--repeat N]``. Prints, per stack, the
median of N runs of (a) ``mlops synth --quiet`` as a user runs it, (b) a bare
Python process calling ``synthesize`` and (c) imports + synth inside it,
and the number of resources the plan holds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

STACKS = ("dev", "staging", "prod")
PROBE = """
import json, time
started = time.perf_counter()
from infra.plan.engine import synthesize
plan = synthesize({stack!r})
elapsed = time.perf_counter() - started
resources = sum(1 for r in plan.resources if r["custom"])
print(json.dumps({{"seconds": elapsed, "resources": resources}}))
"""


def measure_cli(stack: str) -> float:
    """Wall time of the command a user types: ``mlops synth --stack S --quiet``."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ops.cli", "synth", "--stack", stack, "--quiet"],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started


def measure(stack: str) -> tuple[float, float, int]:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(stack=stack)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    process_seconds = time.perf_counter() - started
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return process_seconds, figures["seconds"], figures["resources"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header = f"{'stack':<8} {'mlops synth s':>14} {'process s':>10} {'imports+synth s':>16}"
    print(f"{header} {'resources':>10}")
    for stack in STACKS:
        runs = [measure(stack) for _ in range(args.repeat)]
        cli = statistics.median(measure_cli(stack) for _ in range(args.repeat))
        process = statistics.median(r[0] for r in runs)
        inner = statistics.median(r[1] for r in runs)
        print(f"{stack:<8} {cli:>14.2f} {process:>10.2f} {inner:>16.2f} {runs[0][2]:>10}")


if __name__ == "__main__":
    main()
