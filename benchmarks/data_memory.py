"""Peak memory of the Validate and Features steps against the size of the data drop.

Run with ``.venv/bin/python benchmarks/data_memory.py`` (``--megabytes 200`` by
default; ``--quick`` uses 50). It writes a drop of generated transactions (one
CSV and one Parquet file, seeds apart so no id repeats), runs each step as
SageMaker runs it (``python -m ml.validate``, and ``python -m pipelines.jobs.features``
turning every row into a Feature Store record written to an emulator's S3 as a local
run does, each in its own process) on drops of 1 MB, half the size and the full
size, and prints each step's peak resident memory (the process's own VmHWM) and
what one more GB of input adds to it: the growth between the half and the full
drop, per GB. The default processing instance (ml.m5.large) has 8 GiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS_PER_PART = 500_000

from ops.local.emulator import aws_emulator  # noqa: E402 - after the path is set
from pipelines.jobs.features import OFFLINE_RECORDS_ENV  # noqa: E402


def write_drop(folder: Path, megabytes: float) -> tuple[float, int]:
    """Generated transactions of about ``megabytes`` MB, CSV and Parquet parts: (MB, rows)."""
    from ml.data import generate
    from ml.io import write_table

    folder.mkdir(parents=True, exist_ok=True)
    rows = max(1_000, min(ROWS_PER_PART, int(megabytes * 1e6 / 130)))  # a CSV row: ~130 bytes
    seed, written = 1, 0.0
    while written < megabytes * 1e6:
        path = folder / f"part-{seed:03d}.{'csv' if seed % 2 else 'parquet'}"
        write_table(generate(rows, seed=seed), path)
        written, seed = written + path.stat().st_size, seed + 1
    return written / 1e6, rows * (seed - 1)


# Runs a step as ``python -m`` does, then prints its own high-water mark (VmHWM): the
# memory of the new process alone (a child's ru_maxrss starts from its parent's size).
MEASURED = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
    "except SystemExit as done:\n"
    "    assert not done.code, done.code\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "print(int(hwm.split()[1]) / 1024, file=sys.stderr)\n"
)


def peak_of(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(peak resident MB, seconds) of one step run in a process of its own."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *argv[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[1]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stderr.strip().splitlines()[-1]), time.perf_counter() - started


def run_steps(drop: Path, work: Path, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    validate = [
        "-m", "ml.validate",
        "--input", str(drop),
        "--validated", str(work / "validated"),
        "--quarantine", str(work / "quarantine"),
        "--report", str(work / "validation.json"),
    ]  # fmt: skip
    features = ["-m", "pipelines.jobs.features", "--input", str(work / "validated")]
    features += ["--output", str(work / "features"), "--feature-group", "transactions"]
    records = {OFFLINE_RECORDS_ENV: f"s3://data/records/{work.name}.parquet"}
    return {"Validate": peak_of(validate), "Features": peak_of(features, {**env, **records})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=200)
    parser.add_argument("--quick", action="store_true", help="a 50 MB drop")
    args = parser.parse_args()
    size = 50 if args.quick else args.megabytes
    sizes, counts, peaks = [], [], []
    with tempfile.TemporaryDirectory() as folder, aws_emulator("us-east-1") as clients:
        clients.s3.create_bucket(Bucket="data")
        env = {**os.environ, **clients.step_environment()}
        root = Path(folder)
        for target in (1, size / 2, size):
            drop = root / f"drop-{target:g}"
            megabytes, rows = write_drop(drop, target)
            sizes.append(megabytes)
            counts.append(rows)
            peaks.append(run_steps(drop, root / f"work-{target:g}", env))
    print(
        f"drops of {', '.join(f'{mb:.0f}' for mb in sizes)} MB "
        f"({', '.join(f'{n:,}' for n in counts)} rows, CSV and Parquet parts)"
    )
    print(
        f"{'step':<10} {'peak MB at each size':>22} {'seconds':>8} "
        f"{'MB per GB of input':>19} {'MB per million rows':>20}"
    )
    for step in peaks[0]:
        at = [peak[step][0] for peak in peaks]
        # The growth between the two large drops: what more input costs.
        per_gb = (at[2] - at[1]) / (sizes[2] - sizes[1]) * 1000
        per_million = (at[2] - at[1]) / (counts[2] - counts[1]) * 1e6
        print(
            f"{step:<10} {' / '.join(f'{mb:.0f}' for mb in at):>22} "
            f"{peaks[2][step][1]:8.1f} {per_gb:19.0f} {per_million:20.0f}"
        )


if __name__ == "__main__":
    main()
