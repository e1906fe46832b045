"""The demo: the README's first command, end to end for one stack, and its drift check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.demo_tour import drift_by_scenario

REPO = Path(__file__).resolve().parents[1]


def test_drift_check_alarms_on_shifted_inputs_and_stays_quiet_on_normal_data() -> None:
    drift = drift_by_scenario(rows=5_000)
    assert drift["none (same distribution)"]["status"] == "ok"
    assert drift["amount_shift"]["status"] == "alarm"
    assert drift["amount_shift"]["max_psi_feature"] == "amount"
    assert drift["new_merchant_category"]["max_psi_feature"] == "merchant_category"


@pytest.mark.slow
def test_demo_plans_scans_and_trains_for_a_stack(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "demo",
            "--stack",
            "dev",
            "--work-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (tmp_path / "dev.tfplan.json").is_file() and (tmp_path / "dev.plan.json").is_file()
    assert "model-package/mlops-dev-" in completed.stdout
    assert "amount_shift" in completed.stdout
