"""Wall time of ``synthesize`` per stack, imports included, in a fresh interpreter each time;
and synth of prod side by side with the realistic import floor.

Run: ``.venv/bin/python benchmarks/synth.py [--repeat N]``. Prints, per stack, the
median of N runs of (a) ``mlops synth --quiet`` as a user runs it, (b) a bare
Python process calling ``synthesize`` and (c) imports + synth inside it, and the
number of resources the plan holds. Then the floor: a process importing only
what any Pulumi program of these resources must (pulumi, the provider modules
classes of the resource types the prod plan holds, pydantic, yaml), alternated with a
process synthesizing prod. Target: synth <= 1.3x the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from harness import machine_note, paired, section, span, verdict

STACKS = ("dev", "staging", "prod")
MAX_OVER_FLOOR = 1.3
PROBE = """
import json, time
started = time.perf_counter()
from infra.plan.engine import synthesize
plan = synthesize({stack!r})
elapsed = time.perf_counter() - started
resources = sum(1 for r in plan.resources if r["custom"])
types = sorted({{r["type"] for r in plan.resources if r["custom"]}})
print(json.dumps({{"seconds": elapsed, "resources": resources, "types": types}}))
"""
PACKAGES = {
    "aws": "pulumi_aws",
    "docker-build": "pulumi_docker_build",
    "kubernetes": "pulumi_kubernetes",
}
KEYWORDS = {"lambda": "lambda_"}  # provider modules whose Python names avoid a keyword


def environment() -> dict[str, str]:
    return {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}


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


def measure(stack: str) -> tuple[float, dict]:
    """A fresh process synthesizing ``stack``: its wall time and what it reported."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(stack=stack)],
        check=True,
        capture_output=True,
        text=True,
        env=environment(),
    )
    process_seconds = time.perf_counter() - started
    return process_seconds, json.loads(completed.stdout.strip().splitlines()[-1])


def floor_imports(types: list[str]) -> list[str]:
    """pulumi, pydantic, yaml and the provider class of each resource type.

    ``aws:s3/bucket:Bucket`` is ``pulumi_aws.s3.Bucket``. The provider packages
    load their modules lazily, on first attribute access, so the floor touches
    each class: importing ``pulumi_aws.s3`` alone loads nothing.
    """
    names = {"pulumi", "pydantic", "yaml"}
    for kind in types:
        provider, middle, resource = kind.split(":")
        if provider not in PACKAGES:
            continue
        module = middle.split("/")[0]
        package = PACKAGES[provider]
        path = package if module == "index" else f"{package}.{KEYWORDS.get(module, module)}"
        names.add(f"{path}.{resource}")
    return sorted(names)


def floor_code(names: list[str]) -> str:
    """A program that imports the packages and touches the classes ``floor_imports`` names."""
    packages = sorted({name.split(".")[0] for name in names})
    return "import " + ", ".join(packages) + "\n" + "\n".join(n for n in names if "." in n)


def measure_floor(names: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", floor_code(names)],
        check=True,
        capture_output=True,
        text=True,
        env=environment(),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine_note())
    section("synth per stack (medians)")
    header = f"{'stack':<8} {'mlops synth s':>14} {'process s':>10} {'imports+synth s':>16}"
    print(f"{header} {'resources':>10}")
    types: list[str] = []
    for stack in STACKS:
        runs = [measure(stack) for _ in range(args.repeat)]
        cli = statistics.median(measure_cli(stack) for _ in range(args.repeat))
        process = statistics.median(r[0] for r in runs)
        inner = statistics.median(r[1]["seconds"] for r in runs)
        print(
            f"{stack:<8} {cli:>14.2f} {process:>10.2f} {inner:>16.2f} {runs[0][1]['resources']:>10}"
        )
        types = runs[0][1]["types"]  # the last stack's: prod
    modules = floor_imports(types)
    section("synth of prod (B) vs the import floor (A), alternated")
    print("floor: imports " + ", ".join(sorted({m.split(".")[0] for m in modules})) + "; classes")
    print("  " + ", ".join(m for m in modules if "." in m))
    pairs = paired(lambda: measure_floor(modules), lambda: measure("prod")[0], args.repeat + 2)
    ratios = [b / a for a, b in pairs]
    ok = statistics.median(ratios) <= MAX_OVER_FLOOR
    print(
        f"floor {span([a for a, _ in pairs])} s, synth prod {span([b for _, b in pairs])} s, "
        f"synth/floor {span(ratios)}x (target <= {MAX_OVER_FLOOR}x, median): {verdict(ok)}"
    )


if __name__ == "__main__":
    main()
