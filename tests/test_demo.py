"""The demo: the README's first command, from training to a scanned prod endpoint; drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.demo_tour import drift_by_scenario

REPO = Path(__file__).resolve().parents[1]


def test_drift_check_alarms_on_shifted_inputs_and_stays_quiet_on_normal_data() -> None:
    drift = drift_by_scenario(rows=5_000)
    assert drift["none (same distribution)"]["status"] == "ok"
    assert drift["amount_shift"]["status"] == "alarm"
    assert drift["amount_shift"]["max_psi_feature"] == "amount"
    assert drift["new_merchant_category"]["max_psi_feature"] == "merchant_category"


def stack_files_text() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (REPO / "environments").glob("*.yaml")}


@pytest.mark.slow
def test_demo_trains_deploys_promotes_and_scans_prod_serving_the_model(tmp_path: Path) -> None:
    before = stack_files_text()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "demo",
            "--stack",
            "prod",
            "--work-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    pinned = yaml.safe_load((tmp_path / "stacks" / "Pulumi.prod.yaml").read_text())
    arn = pinned["config"]["mlops:serving"]["modelPackageArn"]
    assert ":model-package/mlops-prod-fraud-models/" in arn
    plan = json.loads((tmp_path / "prod.plan.json").read_text())
    endpoint = next(r for r in plan["resources"] if r["type"] == "aws:sagemaker/endpoint:Endpoint")
    deployment = endpoint["inputs"]["deploymentConfig"]
    routing = deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"]
    assert routing == "CANARY"
    assert len(deployment["autoRollbackConfiguration"]["alarms"]) == 3
    model = next(r for r in plan["resources"] if r["type"] == "aws:sagemaker/model:Model")
    assert model["inputs"]["primaryContainer"]["modelPackageName"] == arn
    assert "prod: scan passed" in completed.stdout
    assert "amount_shift" in completed.stdout
    assert stack_files_text() == before  # the demo pins copies, never environments/
