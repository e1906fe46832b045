"""Pinning in the stack file: one value changed, comments and order kept, written atomically."""

from __future__ import annotations

import pytest
import yaml

from infra.config.stack_file import stack_file
from ops.release.pinning import pin_model_package, set_model_package_arn
from ops.release.stacks import PromotionError


def test_pinning_a_new_path_starts_from_the_stacks_own_file(tmp_path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    path = tmp_path / "out" / "Pulumi.staging.yaml"
    assert pin_model_package(path, arn, template=stack_file("staging"))
    config = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
    assert config["mlops:serving"]["modelPackageArn"] == arn
    template = stack_file("staging").read_text(encoding="utf-8")
    assert config == {
        **yaml.safe_load(template)["config"],
        "mlops:serving": {"modelPackageArn": arn},
    }
    assert path.read_text(encoding="utf-8").startswith(template)  # comments and all


def test_pinning_adds_a_serving_section_when_there_is_none() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    text = "# prod\nconfig:\n  aws:region: us-east-1  # kept\n"
    updated = set_model_package_arn(text, arn)
    assert updated.startswith("# prod\nconfig:\n  aws:region: us-east-1  # kept\n")
    assert yaml.safe_load(updated)["config"]["mlops:serving"] == {"modelPackageArn": arn}


def test_inline_serving_config_gets_the_arn_in_its_own_style() -> None:
    updated = set_model_package_arn("config:\n  mlops:serving: {instanceCount: 2}\n", "arn")
    assert updated == "config:\n  mlops:serving: {instanceCount: 2, modelPackageArn: arn}\n"


def test_pinning_changes_the_one_line_and_keeps_comments_and_order(tmp_path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2"
    before = (
        "# yaml-language-server: $schema=./stack.schema.json\n"
        "# staging: two instances\n"
        "config:\n"
        "  aws:region: us-east-1  # the provider's\n"
        "  mlops:serving:\n"
        "    # pinned by mlops promote\n"
        "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1\n"
        "    instanceCount: 3\n"
        "  mlops:monitoring:\n"
        "    alarmEmails:\n"
        "      - oncall@example.com\n"
    )
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(before, encoding="utf-8")
    assert pin_model_package(path, arn)
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [
        (old, new) for old, new in zip(before.splitlines(), after, strict=True) if old != new
    ]
    assert changed == [
        (
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
            f"    modelPackageArn: {arn}",
        )
    ]
    assert not pin_model_package(path, arn)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.staging.yaml"]  # no temp left


def test_a_stack_file_without_a_config_mapping_is_refused(tmp_path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(PromotionError, match="no top-level 'config:' mapping"):
        pin_model_package(path, "arn")
    assert path.read_text(encoding="utf-8") == "# nothing here\n"
