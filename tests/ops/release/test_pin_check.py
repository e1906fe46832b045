"""Before pulumi up: a pinned package must be the stack's own and Approved (``deploy --check``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.config.stack_file import stack_file
from infra.plan.scan import ScanResult
from ops.cli import app
from ops.release.pin_check import check_pins
from ops.release.pinning import pin_model_package
from pipelines import registry
from tests.factories import register_package

STAGING = "mlops-staging-fraud-models"


def staging_file(tmp_path: Path, *arns: str, shadow: str | None = None) -> Path:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(stack_file("staging").read_text(encoding="utf-8"), encoding="utf-8")
    for arn in arns:
        pin_model_package(path, arn)
    if shadow is not None:
        path.write_text(path.read_text() + f"    shadowModelPackageArn: {shadow}\n")
    return path


def by_check(results: list) -> dict[tuple[str, str], str]:
    return {(r.check_id, r.resource): r.status for r in results}


def test_offline_a_package_of_another_stacks_group_fails(tmp_path) -> None:
    dev = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-dev-fraud-models/4"
    results = check_pins("staging", staging_file(tmp_path, dev))
    assert by_check(results) == {("MLOPS_PIN_1", "serving.modelPackageArn"): "failed"}
    assert "is in mlops-dev-fraud-models, not in mlops-staging-fraud-models" in results[0].detail


def test_a_stack_that_pins_nothing_has_nothing_to_check(tmp_path) -> None:
    assert check_pins("staging", staging_file(tmp_path)) == []


def test_the_registry_says_whether_each_pinned_package_is_approved(sagemaker, tmp_path) -> None:
    served = register_package(sagemaker, group=STAGING, status="Approved")
    shadow = register_package(sagemaker, group=STAGING)
    results = check_pins("staging", staging_file(tmp_path, served, shadow=shadow), sagemaker)
    assert by_check(results) == {
        ("MLOPS_PIN_1", "serving.modelPackageArn"): "passed",
        ("MLOPS_PIN_2", "serving.modelPackageArn"): "passed",
        ("MLOPS_PIN_1", "serving.shadowModelPackageArn"): "passed",
        ("MLOPS_PIN_2", "serving.shadowModelPackageArn"): "failed",
    }
    assert results[-1].detail.startswith(f"{shadow} is PendingManualApproval")


def test_a_package_the_registry_does_not_know_fails(sagemaker, tmp_path) -> None:
    unknown = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{STAGING}/99"
    (_, approved) = check_pins("staging", staging_file(tmp_path, unknown), sagemaker)
    assert approved.status == "failed" and "not found" in approved.detail


def test_deploy_check_exits_1_with_one_line_on_a_rejected_pin(sagemaker, tmp_path) -> None:
    arn = register_package(sagemaker, group=STAGING, status="Approved")
    path = staging_file(tmp_path, arn)
    passed = CliRunner().invoke(
        app, ["deploy", "--check", "--stack", "staging", "--stack-file", str(path)]
    )
    assert passed.exit_code == 0, passed.output
    assert "ok serving.modelPackageArn" in passed.output
    registry.reject(sagemaker, arn, "bias on new accounts")
    before = path.read_text()
    failed = CliRunner().invoke(
        app, ["deploy", "--check", "--stack", "staging", "--stack-file", str(path)]
    )
    assert failed.exit_code != 0
    assert "is Rejected (bias on new accounts)" in str(failed.exception)
    assert path.read_text() == before


def test_scan_with_registry_fails_on_a_pending_pin(sagemaker, tmp_path, monkeypatch) -> None:
    arn = register_package(sagemaker, group=STAGING)
    path = staging_file(tmp_path, arn)
    empty = ScanResult(stack="staging", results=[])
    monkeypatch.setattr("infra.plan.scan.scan_plan", lambda plan: empty)
    monkeypatch.setattr("ops.plan_report.synthesize_with_progress", lambda *args: None)
    offline = CliRunner().invoke(app, ["scan", "--stack", "staging", "--config-file", str(path)])
    assert offline.exit_code == 0, offline.output
    assert "registry: 0 failed, 1 passed" in offline.output
    empty.results.clear()
    asked = ["scan", "--stack", "staging", "--config-file", str(path), "--registry"]
    checked = CliRunner().invoke(app, asked)
    assert checked.exit_code == 1
    assert "MLOPS_PIN_2" in checked.output and "registry: 1 failed" in checked.output


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_committed_stack_files_pin_only_their_own_groups(stack: str) -> None:
    assert all(r.status == "passed" for r in check_pins(stack))
