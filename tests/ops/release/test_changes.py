"""What a push changes per stack: code (every stack, reviewed), config, or only the served model."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config.stack_file import stack_file
from ops.release.changes import as_outputs, stack_changes
from ops.release.pinning import pin_model_package
from tests.fresh_clone import git

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-{stack}-fraud-models/{v}"


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository where every stack serves version 1."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "environments").mkdir()
    (tmp_path / "README.md").write_text("mlops\n")
    for stack in ("dev", "staging", "prod"):
        path = tmp_path / "environments" / f"Pulumi.{stack}.yaml"
        path.write_text(stack_file(stack).read_text(encoding="utf-8"), encoding="utf-8")
        pin_model_package(path, ARN.format(stack=stack, v=1))
    git(tmp_path, "add", "--all")
    git(tmp_path, "commit", "--quiet", "--message", "serving")
    return tmp_path


def commit(repo: Path, message: str = "change") -> tuple[str, str]:
    before = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "--quiet", "--all", "--message", message)
    return before, git(repo, "rev-parse", "HEAD")


def stack_path(repo: Path, stack: str) -> Path:
    return repo / "environments" / f"Pulumi.{stack}.yaml"


def test_a_new_pin_in_one_stack_is_a_model_change_of_that_stack_only(repo) -> None:
    pin_model_package(stack_path(repo, "prod"), ARN.format(stack="prod", v=2))
    assert stack_changes(repo, *commit(repo)) == {"dev": "none", "staging": "none", "prod": "pin"}


def test_a_pin_and_another_key_of_the_same_file_is_a_config_change(repo) -> None:
    path = stack_path(repo, "staging")
    pin_model_package(path, ARN.format(stack="staging", v=2))
    path.write_text(
        path.read_text().replace("    modelPackageArn", "    instanceCount: 3\n    modelPackageArn")
    )
    assert stack_changes(repo, *commit(repo))["staging"] == "config"


def test_any_other_file_deploys_every_stack_as_code(repo) -> None:
    pin_model_package(stack_path(repo, "prod"), ARN.format(stack="prod", v=2))
    (repo / "README.md").write_text("mlops, changed\n")
    assert set(stack_changes(repo, *commit(repo)).values()) == {"code"}


def test_removing_a_pin_is_a_config_change(repo) -> None:
    path = stack_path(repo, "dev")
    path.write_text("\n".join(line for line in path.read_text().splitlines()[:-2]) + "\n")
    assert stack_changes(repo, *commit(repo))["dev"] == "config"


def test_a_first_push_or_an_unknown_base_deploys_everything(repo) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert set(stack_changes(repo, "0" * 40, head).values()) == {"code"}
    assert set(stack_changes(repo, "", head).values()) == {"code"}
    assert set(stack_changes(repo, "f" * 40, head).values()) == {"code"}


def test_the_outputs_are_one_line_per_stack() -> None:
    changes = {"dev": "none", "staging": "pin", "prod": "code"}
    assert as_outputs(changes) == "dev=none\nstaging=pin\nprod=code\n"  # type: ignore[arg-type]
