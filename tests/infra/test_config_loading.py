"""One way from a stack file to a StackConfig, for the program, the plan and the CLI alike."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from infra.config import ConfigError, load_stack, read_stack
from infra.config.atomic import write_atomically
from infra.config.stack_file import REPO_ROOT

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"


def test_the_provider_region_stands_in_for_an_unset_mlops_region(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  aws:region: eu-west-1\n", encoding="utf-8")
    assert load_stack("dev", path).region == "eu-west-1"
    path.write_text("config:\n  aws:region: eu-west-1\n  mlops:region: eu-west-1\n")
    assert load_stack("dev", path).region == "eu-west-1"


def test_an_mlops_region_that_conflicts_with_the_providers_is_refused(tmp_path: Path) -> None:
    # The provider would deploy to eu-west-1 while names and ARNs said us-west-2.
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  aws:region: eu-west-1\n  mlops:region: us-west-2\n")
    with pytest.raises(ConfigError) as raised:
        load_stack("dev", path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        "invalid config mlops:region = 'us-west-2': conflicts with aws:region"
    )


def test_the_runtime_values_carry_the_overrides_and_the_secrets_ciphertext(
    tmp_path: Path,
) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        "config:\n  aws:region: us-east-1\n  mlops:githubToken:\n    secure: v1:abc\n"
        "  mlops:serving:\n    instanceCount: 3\n",
        encoding="utf-8",
    )
    loaded = read_stack("prod", path, [f"serving.modelPackageArn={MODEL_ARN}"])
    assert loaded.values["mlops:serving"] == {"instanceCount": 3, "modelPackageArn": MODEL_ARN}
    assert loaded.values["mlops:githubToken"] == {"secure": "v1:abc"}
    assert loaded.values["aws:region"] == "us-east-1"
    assert loaded.secret_keys == ["mlops:githubToken"]
    assert loaded.config.serving.model_package_arn == MODEL_ARN
    assert loaded.config.serving.instance_count == 3


@pytest.mark.parametrize("duration", ["P30D", "PT12H", "P1Y2M", "P1DT6H", "P2W"])
def test_a_cache_expiry_is_kept_as_written(duration: str) -> None:
    config = load_stack("dev", overrides=[f"pipeline.cacheExpiry={duration}"])
    assert config.pipeline.cache_expiry == duration


@pytest.mark.parametrize("duration", ["P", "PT", "PT0S", "P0D", "-P1D", "01:00:00", "P1DT", "30D"])
def test_a_cache_expiry_that_is_no_positive_iso_duration_is_one_line(duration: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack("dev", overrides=[f"pipeline.cacheExpiry={duration}"])
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        f"invalid config mlops:pipeline.cacheExpiry = {duration!r}: "
        "expected an ISO 8601 duration longer than zero, such as P30D or PT12H"
    )


def test_no_module_outside_infra_config_reads_a_stack_file_itself() -> None:
    own = REPO_ROOT / "infra" / "config"
    readers = re.compile(r"\b(read_stack_file|namespace_values)\(|\bresolve\(stack")
    found = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("infra", "ops", "pipelines")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if own not in path.parents and readers.search(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "load a stack with infra.config.load_stack or read_stack"


def test_an_atomic_write_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    write_atomically(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.dev.yaml"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("old\n", encoding="utf-8")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.dev.yaml"]
