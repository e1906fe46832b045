"""What every side-by-side benchmark shares: A and B alternated, min-max over repeats.

On a machine that other work shares, a figure taken once says more about the
load at that moment than about the code. So each figure is paired with its
baseline in the same run: A and B alternate (B first on odd repeats, so neither
always runs warm), every repeat gives a ratio, and the output is the min-max
of each over the repeats. ``machine_note`` says how loaded the machine was.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
# The repository first: its ``ml`` package, not ``benchmarks/ml.py`` beside this file.
sys.path.insert(0, str(ROOT))
BUILD = ROOT / "build" / "bench"
SHARED_LOAD = 0.5  # load average per core above which the machine counts as shared

T = TypeVar("T")


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def machine_note() -> str:
    """Cores and load; says so when the numbers are taken on a shared machine."""
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    note = f"machine: {cores} cores, load average {load:.2f} at the start"
    if load > SHARED_LOAD * cores:
        note += (
            " -- a shared machine: other processes ran during these measurements, so each "
            "figure is paired with its baseline in the same run and shown as min-max"
        )
    return note


def paired(a: Callable[[], T], b: Callable[[], T], repeats: int) -> list[tuple[T, T]]:
    """``repeats`` pairs (A, B), run alternately: A first on even repeats, B first on odd."""
    pairs = []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            first = a()
            pairs.append((first, b()))
        else:
            second = b()
            pairs.append((a(), second))
    return pairs


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    """``min-max`` of some figures (one figure when they agree to the format)."""
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low}-{high}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def interleaved(
    a: Callable[[], object], b: Callable[[], object], calls: int
) -> tuple[float, float]:
    """The fastest of ``calls`` calls of A and of B, alternated call by call (in seconds).

    For calls of milliseconds the minimum is the figure to compare (as ``timeit``
    advises): what other processes add is only ever added, so the fastest call
    is the one least disturbed, and alternating keeps A and B under the same load.
    """
    best_a = best_b = float("inf")
    for call in range(calls):
        for fn, is_a in ((a, True), (b, False)) if call % 2 == 0 else ((b, False), (a, True)):
            started = time.perf_counter()
            fn()
            seconds = time.perf_counter() - started
            if is_a:
                best_a = min(best_a, seconds)
            else:
                best_b = min(best_b, seconds)
    return best_a, best_b


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_model(rows: int = 1_000_000) -> Path:
    """A model trained on ``rows`` generated rows, kept in build/bench between runs."""
    from ml.model_artifact import METADATA_FILE

    model_dir = BUILD / f"model-{rows}"
    if not (model_dir / METADATA_FILE).is_file():
        from ml.data import generate
        from ml.io import write_table
        from ml.train import TrainParams, run_training

        BUILD.mkdir(parents=True, exist_ok=True)
        data = BUILD / f"train-{rows}.parquet"
        write_table(generate(rows, 0), data)
        run_training(data, None, model_dir, TrainParams())
    return model_dir


def describe_model(model_dir: Path) -> str:
    """What the benchmarks' model is: its training rows, and its trees or its kind."""
    import json

    from ml.model_artifact import METADATA_FILE

    training = json.loads((model_dir / METADATA_FILE).read_text())["training"]
    rows = training["train_rows"] + training["validation_rows"]
    kind = training.get("model", "gradient_boosting")
    size = f"{training['iterations']} trees" if kind == "gradient_boosting" else kind
    return f"model: trained on {rows:,} generated rows, {size}"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children now running have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for process in [pid, *map(int, children.read_text().split())]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@contextmanager
def running(
    command: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process on 127.0.0.1:``port``, ready (``/ping`` 200) inside, stopped by pid."""
    import http.client

    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[:3]} exited before it was ready")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU (contention), stopped by pid afterwards."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            spinner.wait()
