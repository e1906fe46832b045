"""Promotion against moto: only approved models move, the ARN is pinned, events are idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.stack_config import stack_file
from pipelines import registry
from pipelines.promote import PromotionError, promote, promote_on_event, set_model_package_arn
from tests.pipelines.conftest import GROUP, register_package

STAGING = "mlops-staging-fraud-models"


@pytest.fixture
def staging_file(tmp_path) -> Path:
    """A copy of the real staging stack file, comments and all."""
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(stack_file("staging").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def event(arn: str, status: str = "Approved", group: str = GROUP) -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
        },
    }


def test_promote_copies_the_champion_and_pins_its_arn(sagemaker, staging_file) -> None:
    original = staging_file.read_text(encoding="utf-8")
    source = register_package(sagemaker, status="Approved")
    done = promote(sagemaker, "staging", stack_file=staging_file)
    assert done.source.arn == source and done.created and done.file_changed
    assert done.target.group == STAGING and done.target.status == "Approved"
    assert done.target.metadata["PromotedFrom"] == source
    assert done.target.metadata["DataSha256"] == "d" * 64
    text = staging_file.read_text(encoding="utf-8")
    config = yaml.safe_load(text)["config"]
    assert config["mlops:serving"]["modelPackageArn"] == done.target.arn
    assert config["mlops:serving"]["instanceCount"] == 2
    assert text.splitlines()[0] == original.splitlines()[0]  # the comment header stays
    assert len(text.splitlines()) == len(original.splitlines()) + 1


def test_promoting_twice_finds_the_same_copy_and_changes_nothing(sagemaker, staging_file) -> None:
    register_package(sagemaker, status="Approved")
    first = promote(sagemaker, "staging", stack_file=staging_file)
    before = staging_file.read_text(encoding="utf-8")
    second = promote(sagemaker, "staging", stack_file=staging_file)
    assert second.target.arn == first.target.arn
    assert not second.created and not second.file_changed
    assert staging_file.read_text(encoding="utf-8") == before
    assert len(registry.list_packages(sagemaker, STAGING)) == 1


def test_duplicate_approval_events_promote_once(sagemaker, staging_file) -> None:
    arn = register_package(sagemaker, status="Approved")
    files = {"staging": staging_file}
    results = [promote_on_event(sagemaker, event(arn), files) for _ in range(3)]
    assert all(r is not None for r in results)
    assert len({r.target.arn for r in results if r}) == 1
    assert [r.created for r in results if r] == [True, False, False]
    assert len(registry.list_packages(sagemaker, STAGING)) == 1


def test_events_other_than_approval_are_ignored(sagemaker, staging_file) -> None:
    arn = register_package(sagemaker)
    assert (
        promote_on_event(sagemaker, event(arn, "PendingManualApproval"), {"staging": staging_file})
        is None
    )
    assert registry.list_packages(sagemaker, STAGING) == []


def test_a_rejected_model_is_never_promoted(sagemaker, staging_file) -> None:
    arn = register_package(sagemaker)
    registry.reject(sagemaker, arn, "overfits")
    before = staging_file.read_text(encoding="utf-8")
    with pytest.raises(PromotionError, match=r"is Rejected \(overfits\); only approved"):
        promote(sagemaker, "staging", arn, stack_file=staging_file)
    assert staging_file.read_text(encoding="utf-8") == before
    assert registry.list_packages(sagemaker, STAGING) == []


def test_an_unapproved_model_is_refused(sagemaker, staging_file) -> None:
    arn = register_package(sagemaker)
    with pytest.raises(PromotionError, match="is PendingManualApproval"):
        promote(sagemaker, "staging", arn, stack_file=staging_file)


def test_promotion_without_an_approved_model_is_a_clear_error(sagemaker, staging_file) -> None:
    register_package(sagemaker)
    with pytest.raises(PromotionError, match=f"no approved model in {GROUP}"):
        promote(sagemaker, "staging", stack_file=staging_file)


def test_nothing_promotes_into_dev_or_unknown_stacks(sagemaker) -> None:
    with pytest.raises(PromotionError, match="dev is the first stack"):
        promote(sagemaker, "dev")
    with pytest.raises(PromotionError, match="unknown stack 'qa'"):
        promote(sagemaker, "qa")


def test_pinning_adds_a_serving_section_when_there_is_none() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    text = "# prod\nconfig:\n  aws:region: us-east-1  # kept\n"
    updated = set_model_package_arn(text, arn)
    assert updated.startswith("# prod\nconfig:\n  aws:region: us-east-1  # kept\n")
    assert yaml.safe_load(updated)["config"]["mlops:serving"] == {"modelPackageArn": arn}


def test_inline_serving_config_is_refused() -> None:
    with pytest.raises(PromotionError, match="written inline"):
        set_model_package_arn("config:\n  mlops:serving: {instanceCount: 2}\n", "arn")
