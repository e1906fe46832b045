"""Peak memory of the Validate and Features steps against the size of the data drop.

Run with ``.venv/bin/python benchmarks/data_memory.py`` (``--megabytes 200`` by
default; ``--quick`` uses 50). It writes a drop of generated transactions (one
CSV and one Parquet file, seeds apart so no id repeats), runs each step as
SageMaker runs it (``python -m ml.validate``, ``python -m pipelines.jobs.features``,
each in its own process) on drops of 1 MB, half the size and the full size, and
prints each step's peak resident memory (``ru_maxrss`` of the child) and what one
more GB of input adds to it: the growth between the half and the full drop, per
GB. The default processing instance (ml.m5.large) has 8 GiB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS_PER_PART = 500_000


def write_drop(folder: Path, megabytes: float) -> float:
    """Generated transactions of about ``megabytes`` MB, CSV and Parquet parts; MB written."""
    from ml.data import generate
    from ml.io import write_table

    folder.mkdir(parents=True, exist_ok=True)
    rows = max(1_000, min(ROWS_PER_PART, int(megabytes * 1e6 / 130)))  # a CSV row: ~130 bytes
    seed, written = 1, 0.0
    while written < megabytes * 1e6:
        path = folder / f"part-{seed:03d}.{'csv' if seed % 2 else 'parquet'}"
        write_table(generate(rows, seed=seed), path)
        written, seed = written + path.stat().st_size, seed + 1
    return written / 1e6


def peak_of(argv: list[str]) -> tuple[float, float]:
    """(peak resident MB, seconds) of one step run in a child process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = _wait(child)
    if status != 0:
        raise SystemExit(f"{' '.join(argv[:2])} exited {status}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def _wait(child: subprocess.Popen[bytes]) -> tuple[int, int, resource.struct_rusage]:
    import os

    pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return pid, child.returncode, usage


def run_steps(drop: Path, work: Path) -> dict[str, tuple[float, float]]:
    validate = [
        "-m", "ml.validate",
        "--input", str(drop),
        "--validated", str(work / "validated"),
        "--quarantine", str(work / "quarantine"),
        "--report", str(work / "validation.json"),
    ]  # fmt: skip
    features = ["-m", "pipelines.jobs.features", "--input", str(work / "validated")]
    features += ["--output", str(work / "features")]
    return {"Validate": peak_of(validate), "Features": peak_of(features)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=200)
    parser.add_argument("--quick", action="store_true", help="a 50 MB drop")
    args = parser.parse_args()
    size = 50 if args.quick else args.megabytes
    sizes, peaks = [], []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for target in (1, size / 2, size):
            drop = root / f"drop-{target:g}"
            sizes.append(write_drop(drop, target))
            peaks.append(run_steps(drop, root / f"work-{target:g}"))
    print(f"drops of {', '.join(f'{mb:.0f}' for mb in sizes)} MB (CSV and Parquet parts)")
    print(f"{'step':<10} {'peak MB at each size':>26} {'seconds':>8} {'MB per GB of input':>19}")
    for step in peaks[0]:
        at = [peak[step][0] for peak in peaks]
        # The growth between the two large drops: what one more GB of input costs.
        per_gb = (at[2] - at[1]) / (sizes[2] - sizes[1]) * 1000
        print(
            f"{step:<10} {' / '.join(f'{mb:.0f}' for mb in at):>26} "
            f"{peaks[2][step][1]:8.1f} {per_gb:19.0f}"
        )


if __name__ == "__main__":
    main()
