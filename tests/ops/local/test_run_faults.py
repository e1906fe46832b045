"""Faults of a local run: each is one line naming the step and the cause, and the summary says so.

An external ``moto_server`` is killed when the run reaches Validate; a work
directory's quarantine keeps an earlier run's file of the same name.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from ml.data import generate
from ml.io import write_table
from ml.quarantine import reason_path
from ops.local.job_runner import JobRunner, StepFailedError
from ops.local.pipeline_runner import run_local

MOTO_SERVER = Path(sys.executable).with_name("moto_server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A moto_server of its own on 127.0.0.1, stopped by pid after the test."""
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url, server
    finally:
        server.kill()
        server.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_an_emulator_killed_mid_run_is_one_line_and_the_step_is_failed(
    tmp_path: Path, moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, server = moto
    data = tmp_path / "in" / "transactions.csv"
    write_table(generate(2_000, seed=3), data)
    real = JobRunner.processing

    def kill_at_validate(self, step, state):
        if step["Name"] == "Validate":
            server.kill()
            server.wait(timeout=10)
        return real(self, step, state)

    monkeypatch.setattr(JobRunner, "processing", kill_at_validate)
    out = io.StringIO()
    with pytest.raises(StepFailedError) as failed:
        run_local(
            "dev",
            input_path=data,
            work_dir=tmp_path / "work",
            endpoint_url=url,
            console=Console(file=out, width=200),
        )
    message = str(failed.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"pipeline stopped at Validate: the AWS emulator at {url} stopped")
    summary = [line for line in out.getvalue().splitlines() if "Validate" in line]
    assert summary and all("failed" in line for line in summary), out.getvalue()
    assert not any(" ran" in line for line in summary)


@pytest.mark.slow
def test_an_emulator_gone_before_the_run_is_one_line(tmp_path: Path, moto) -> None:
    url, server = moto
    server.kill()
    server.wait(timeout=10)
    data = tmp_path / "in" / "transactions.csv"
    write_table(generate(500, seed=3), data)
    with pytest.raises(Exception) as failed:
        run_local("dev", input_path=data, work_dir=tmp_path / "work", endpoint_url=url)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("local run stopped while preparing the emulator: the AWS emulator")


def test_the_work_dir_quarantine_keeps_an_earlier_runs_file_of_the_same_name(
    tmp_path: Path,
) -> None:
    from ml.quarantine import copy_quarantine

    target = tmp_path / "work" / "quarantine"
    for run, content in enumerate((b"first run's bytes", b"second run's bytes")):
        output = tmp_path / f"run-{run}"
        output.mkdir()
        (output / "broken.csv").write_bytes(content)
        reason = {"file": "broken.csv", "checks_failed": ["truncated"], "run": run}
        reason_path(output / "broken.csv").write_text(json.dumps(reason))
        copy_quarantine(output, target)
    assert (target / "broken.csv").read_bytes() == b"first run's bytes"
    assert (target / "broken-1.csv").read_bytes() == b"second run's bytes"
    first = json.loads(reason_path(target / "broken.csv").read_text())
    second = json.loads(reason_path(target / "broken-1.csv").read_text())
    assert (first["run"], second["run"]) == (0, 1)
    assert second["quarantined_as"] == "broken-1.csv"
