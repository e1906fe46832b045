"""``make demo``'s time against the README's statement, and the demo's scans side by side.

Run: ``.venv/bin/python benchmarks/demo.py [--repeats N] [--runs N]``. First the
scans of the three stacks: one checkov process per stack (A, as the demo ran
them before) against one for all three (B, ``scan_plans``), alternated. Then
the demo itself as ``make demo`` runs it once installed (``mlops demo``, its
default sizes), timed end to end; the README's stated time must match it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time

from harness import ROOT, machine_note, paired, section, span, verdict

README = ROOT / "README.md"
STATED = re.compile(r"make demo .*\(about (\d+) (seconds|minutes?)")
TOLERANCE = 0.35  # how far the measured time may be from the stated one, as a share


def scans(repeats: int) -> None:
    from infra.plan.engine import synthesize
    from infra.plan.scan import scan_plan, scan_plans

    plans = [synthesize(stack) for stack in ("dev", "staging", "prod")]

    def each() -> float:
        started = time.perf_counter()
        for plan in plans:
            scan_plan(plan)
        return time.perf_counter() - started

    def together() -> float:
        started = time.perf_counter()
        scan_plans(plans)
        return time.perf_counter() - started

    pairs = paired(each, together, repeats)
    saved = [a - b for a, b in pairs]
    print(
        f"scan dev, staging, prod: a checkov process each {span([a for a, _ in pairs])} s, "
        f"one for all {span([b for _, b in pairs])} s, saving {span(saved)} s",
        flush=True,
    )


def stated_seconds() -> int:
    """The time the README's quick start gives for ``make demo``, in seconds."""
    found = STATED.search(README.read_text(encoding="utf-8"))
    if found is None:
        raise SystemExit("README.md states no time for make demo ('(about N seconds')")
    return int(found.group(1)) * (1 if found.group(2) == "seconds" else 60)


def demo_seconds() -> float:
    with tempfile.TemporaryDirectory() as work_dir:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ops.cli", "demo", "--work-dir", work_dir],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="demo runs to time")
    args = parser.parse_args()
    print(machine_note())
    section("the demo's scans: three checkov processes (A) vs one (B)")
    scans(args.repeats)
    section("make demo (installed): the whole loop with its default sizes")
    runs = [demo_seconds() for _ in range(args.runs)]
    stated = stated_seconds()
    ok = all(abs(seconds - stated) <= TOLERANCE * stated for seconds in runs)
    print(
        f"make demo took {span(runs, '{:.0f}')} s; the README states about {stated} s: "
        f"{verdict(ok)} (within {TOLERANCE:.0%})"
    )


if __name__ == "__main__":
    main()
