"""Deploy: a stack serves an approved package of its own group, pinned in its stack file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config.stack_file import stack_file
from ops.release.deploy import deploy
from ops.release.stacks import PromotionError
from pipelines import registry
from tests.factories import GROUP, register_package


def pinned(path: Path) -> str:
    return yaml.safe_load(path.read_text())["config"]["mlops:serving"]["modelPackageArn"]


def test_deploy_pins_the_newest_approved_package_not_a_newer_pending_one(
    sagemaker, tmp_path
) -> None:
    register_package(sagemaker, status="Approved")
    champion = register_package(sagemaker, status="Approved")
    register_package(sagemaker)  # newer, still pending
    path = tmp_path / "Pulumi.dev.yaml"
    done = deploy(sagemaker, "dev", path)
    assert done.package.arn == champion and done.file_changed
    assert pinned(path) == champion


def test_deploy_writes_a_copy_and_leaves_the_environments_file_alone(sagemaker, tmp_path) -> None:
    before = stack_file("dev").read_text(encoding="utf-8")
    arn = register_package(sagemaker, status="Approved")
    path = tmp_path / "Pulumi.dev.yaml"
    deploy(sagemaker, "dev", path)
    assert stack_file("dev").read_text(encoding="utf-8") == before
    config = yaml.safe_load(path.read_text())["config"]
    dev_config = yaml.safe_load(before)["config"]
    assert config == {**dev_config, "mlops:serving": {"modelPackageArn": arn}}  # dev's file, kept
    assert path.read_text().startswith(before)  # comments and order too


def test_deploying_again_changes_nothing(sagemaker, tmp_path) -> None:
    register_package(sagemaker, status="Approved")
    path = tmp_path / "Pulumi.dev.yaml"
    deploy(sagemaker, "dev", path)
    before = path.read_text()
    assert not deploy(sagemaker, "dev", path).file_changed
    assert path.read_text() == before


def test_deploy_without_an_approved_model_is_a_clear_error(sagemaker, tmp_path) -> None:
    arn = register_package(sagemaker)
    registry.reject(sagemaker, arn, "overfits")
    with pytest.raises(PromotionError, match=f"no approved model in {GROUP}"):
        deploy(sagemaker, "dev", tmp_path / "Pulumi.dev.yaml")
    assert not (tmp_path / "Pulumi.dev.yaml").exists()


def test_staging_and_prod_serve_the_approved_packages_of_their_own_groups(
    sagemaker, tmp_path
) -> None:
    for stack in ("staging", "prod"):
        group = f"mlops-{stack}-fraud-models"  # the fixture made every stack's group
        retrained = register_package(sagemaker, group=group, status="Approved")
        path = tmp_path / f"Pulumi.{stack}.yaml"
        done = deploy(sagemaker, stack, path, arn=retrained)
        assert done.file_changed and pinned(path) == retrained


def test_a_package_waiting_for_approval_is_never_pinned(sagemaker, tmp_path) -> None:
    arn = register_package(sagemaker)  # PendingManualApproval
    path = tmp_path / "Pulumi.dev.yaml"
    with pytest.raises(PromotionError, match=r"is PendingManualApproval; only an Approved"):
        deploy(sagemaker, "dev", path, arn=arn)
    assert not path.exists()


def test_an_arn_that_is_not_a_versioned_package_is_refused(sagemaker, tmp_path) -> None:
    with pytest.raises(PromotionError, match="is not a versioned model package ARN"):
        deploy(sagemaker, "dev", tmp_path / "Pulumi.dev.yaml", arn=f"{GROUP}/1")


def test_deploying_to_an_unknown_stack_is_refused(sagemaker) -> None:
    with pytest.raises(PromotionError, match="unknown stack 'qa'"):
        deploy(sagemaker, "qa")
