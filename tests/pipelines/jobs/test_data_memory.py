"""Validate and Features hold a bounded amount of a drop in memory, however large it is.

Each step runs as SageMaker runs it, in a process of its own, on a drop of
about 1 MB and one of about 30 MB; the larger drop may cost little more peak
memory than the small one (``benchmarks/data_memory.py`` measures 200 MB).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.data import generate
from ml.io import write_table

REPO = Path(__file__).resolve().parents[3]
ALLOWED_GROWTH_MB = 150  # a batch or a row group more in flight; 30 MB is ~500,000 rows


def peak_mb(argv: list[str]) -> float:
    child = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, argv
    return usage.ru_maxrss / 1024


def steps_peak(drop: Path, work: Path) -> tuple[float, float]:
    validate = ["-m", "ml.validate", "--input", str(drop), "--validated", str(work / "v")]
    validate += ["--quarantine", str(work / "q"), "--report", str(work / "r.json")]
    features = ["-m", "pipelines.jobs.features", "--input", str(work / "v")]
    return peak_mb(validate), peak_mb([*features, "--output", str(work / "f")])


@pytest.mark.slow
def test_a_thirty_times_larger_drop_costs_little_more_memory(tmp_path: Path) -> None:
    write_table(generate(8_000, seed=60), tmp_path / "small" / "part.csv")
    for seed, rows in ((61, 300_000), (62, 200_000)):
        suffix = "csv" if seed % 2 else "parquet"
        write_table(generate(rows, seed=seed), tmp_path / "large" / f"part-{seed}.{suffix}")
    large_mb = sum(p.stat().st_size for p in (tmp_path / "large").iterdir()) / 1e6
    assert large_mb > 25
    small = steps_peak(tmp_path / "small", tmp_path / "work-small")
    large = steps_peak(tmp_path / "large", tmp_path / "work-large")
    for step, before, after in zip(("Validate", "Features"), small, large, strict=True):
        assert after - before < ALLOWED_GROWTH_MB, (step, before, after, large_mb)
