"""Rollback: what a stack served before, from the stack file's git history or the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config.stack_file import stack_file
from ops.release.pinning import pin_model_package
from ops.release.pull_request import rollback_request
from ops.release.rollback import pin_history, rollback
from ops.release.stacks import PromotionError
from pipelines import registry
from tests.factories import register_package
from tests.fresh_clone import git

PROD = "mlops-prod-fraud-models"


def pinned(path: Path) -> str:
    return yaml.safe_load(path.read_text())["config"]["mlops:serving"]["modelPackageArn"]


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository whose prod stack file is committed before any pin."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "environments").mkdir()
    path = tmp_path / "environments" / "Pulumi.prod.yaml"
    path.write_text(stack_file("prod").read_text(encoding="utf-8"), encoding="utf-8")
    git(tmp_path, "add", "--all")
    git(tmp_path, "commit", "--quiet", "--message", "prod")
    return path


def serve(path: Path, arn: str) -> None:
    """What a merged pull request leaves: the pin, committed."""
    pin_model_package(path, arn)
    git(path.parent, "commit", "--quiet", "--all", "--message", f"serve {arn}")


def test_the_history_lists_each_commits_pin_newest_first(sagemaker, repo) -> None:
    first, second = (register_package(sagemaker, group=PROD, status="Approved") for _ in range(2))
    serve(repo, first)
    serve(repo, second)
    assert [arn for _, arn in pin_history(repo)] == [second, first]


def test_rollback_pins_the_package_served_before(sagemaker, repo) -> None:
    first, second = (register_package(sagemaker, group=PROD, status="Approved") for _ in range(2))
    serve(repo, first)
    serve(repo, second)
    done = rollback(sagemaker, "prod", repo)
    assert done.deployment.package.arn == first and pinned(repo) == first
    assert done.deployment.previous_arn == second
    assert done.found_in.startswith("git history (")


def test_a_package_rejected_since_is_passed_over(sagemaker, repo) -> None:
    first, second, third = (
        register_package(sagemaker, group=PROD, status="Approved") for _ in range(3)
    )
    for arn in (first, second, third):
        serve(repo, arn)
    registry.reject(sagemaker, second, "leaked a label")
    done = rollback(sagemaker, "prod", repo)
    assert done.passed_over == [second]
    assert pinned(repo) == first


def test_rolling_back_twice_goes_back_twice_never_forward(sagemaker, repo) -> None:
    arns = [register_package(sagemaker, group=PROD, status="Approved") for _ in range(3)]
    for arn in arns:
        serve(repo, arn)
    done = rollback(sagemaker, "prod", repo)
    assert done.deployment.package.arn == arns[1]
    title = rollback_request(done.deployment, done.found_in).title  # rollback.yml's subject
    git(repo.parent, "commit", "--quiet", "--all", "--message", title)
    assert rollback(sagemaker, "prod", repo).deployment.package.arn == arns[0]


def test_a_package_pinned_again_by_hand_rolls_back_to_what_served_just_before(
    sagemaker, repo
) -> None:
    """3 -> 4 -> 5, then 4 by hand: its fleet fails, and the rollback serves 5, not 3."""
    third, fourth, fifth = (
        register_package(sagemaker, group=PROD, status="Approved") for _ in range(3)
    )
    for arn in (third, fourth, fifth, fourth):
        serve(repo, arn)
    assert rollback(sagemaker, "prod", repo).deployment.package.arn == fifth


def test_a_package_served_again_later_rolls_back_to_what_preceded_it(sagemaker, repo) -> None:
    first, second, third = (
        register_package(sagemaker, group=PROD, status="Approved") for _ in range(3)
    )
    for arn in (first, second, first, third):
        serve(repo, arn)
    assert rollback(sagemaker, "prod", repo).deployment.package.arn == first


def test_without_history_the_registry_names_the_newest_older_approved_package(
    sagemaker, tmp_path
) -> None:
    older = register_package(sagemaker, group=PROD, status="Approved")
    register_package(sagemaker, group=PROD)  # pending: never served
    current = register_package(sagemaker, group=PROD, status="Approved")
    register_package(sagemaker, group=PROD, status="Approved")  # newer than what is served
    path = tmp_path / "Pulumi.prod.yaml"  # not in a repository
    pin_model_package(path, current, template=stack_file("prod"))
    done = rollback(sagemaker, "prod", path)
    assert done.found_in == "registry" and done.deployment.package.arn == older


def test_a_stack_that_pins_nothing_has_nothing_to_roll_back(sagemaker, repo) -> None:
    with pytest.raises(PromotionError, match=r"pins no model .* nothing to roll back"):
        rollback(sagemaker, "prod", repo)


def test_with_nothing_served_before_the_rollback_is_refused(sagemaker, repo) -> None:
    only = register_package(sagemaker, group=PROD, status="Approved")
    serve(repo, only)
    before = repo.read_text()
    with pytest.raises(PromotionError, match="no package served before"):
        rollback(sagemaker, "prod", repo)
    assert repo.read_text() == before
