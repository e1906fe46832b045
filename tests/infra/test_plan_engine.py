"""The offline plan: the real program under mocks, recorded as plain, deterministic data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.plan.engine import synthesize

REPO = Path(__file__).resolve().parents[2]
MLOPS = [sys.executable, "-m", "ops.cli"]


def test_two_synths_of_a_stack_give_identical_plans() -> None:
    first = json.dumps(synthesize("staging").to_dict(), sort_keys=True)
    second = json.dumps(synthesize("staging").to_dict(), sort_keys=True)
    assert first == second


def test_every_resource_belongs_to_a_component_with_an_mlops_type_token(plan_for) -> None:
    plan = plan_for("prod")
    components = {r["urn"]: r for r in plan.resources if not r["custom"]}
    assert components, "the program registered no components"
    assert all(re.fullmatch(r"mlops:[a-z]+:[A-Z][A-Za-z]+", c["type"]) for c in components.values())
    orphans = [r["name"] for r in plan.resources if r["custom"] and r["parent"] not in components]
    assert orphans == []


def test_outputs_name_the_buckets_roles_and_key(plan_for) -> None:
    outputs = plan_for("dev").outputs
    assert outputs["dataBucket"] == "mlops-dev-data-123456789012-us-east-1"
    assert outputs["executionRoleArn"] == "arn:aws:iam::123456789012:role/mlops-dev-execution"
    assert outputs["kmsKeyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")


def test_dependencies_follow_references(plan_for) -> None:
    plan = plan_for("dev")
    versioning = plan.one("aws:s3/bucketVersioning:BucketVersioning", "mlops-dev-data-versioning")
    bucket = plan.one("aws:s3/bucket:Bucket", "mlops-dev-data")
    assert bucket["urn"] in versioning["dependencies"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MLOPS, *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_synth_writes_the_plan_json_in_the_documented_shape(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    completed = run_cli("synth", "--stack", "dev", "--quiet", "--json", str(out))
    assert completed.returncode == 0, completed.stderr
    plan = json.loads(out.read_text())
    assert plan["project"] == "mlops" and plan["stack"] == "dev"
    resource = plan["resources"][0]
    assert {"urn", "type", "name", "inputs", "parent", "dependencies"} <= set(resource)
    assert "dataBucket" in plan["outputs"]


@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("nosuch.key=1", "nosuch.key"),
        ("serving.instanceCount=many", "serving.instanceCount"),
        ("serving.rollout.canaryPercent=80", "serving.rollout.canaryPercent"),
    ],
)
def test_synth_with_bad_config_exits_1_with_one_line(assignment: str, key: str) -> None:
    completed = run_cli("synth", "--stack", "prod", "--set", assignment)
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_synth_does_not_inherit_outputs_of_an_earlier_synth() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"
    with_model = synthesize("prod", overrides=[f"serving.modelPackageArn={arn}"])
    without_model = synthesize("prod")
    assert "endpointName" in with_model.outputs
    assert "endpointName" not in without_model.outputs
    assert "servingStatus" in without_model.outputs
