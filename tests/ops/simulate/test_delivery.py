"""The approval and rollback workflows, played on a git repository with the release commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ml.errors import MlopsError
from ops.simulate.clients import SimClients
from ops.simulate.delivery import (
    PullRequest,
    Repository,
    pins_problems,
    promote_next,
    rollback_command,
    serve_command,
)
from ops.simulate.emulated_stack import (
    GITHUB_DELIVERY,
    GITHUB_TOKEN,
    put_rules,
    synthesize_stack,
    write_stack_file,
)
from ops.simulate.events import Bus, DeliveryPolicy, package_event

GROUP = "mlops-prod-fraud-models"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture
def clients() -> Iterator[SimClients]:
    with mock_aws():
        made = {
            name: boto3.client(name, region_name="us-east-1")
            for name in ("s3", "sagemaker", "cloudwatch", "events", "sqs", "kms", "sts", "ecr")
        }
        made["dynamodb"] = boto3.client("dynamodb", region_name="us-east-1")
        made["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        yield SimClients(region="us-east-1", endpoint_url="", **made)


def register(clients: SimClients, status: str = "Approved") -> str:
    created = clients.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i@sha256:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    return str(created["ModelPackageArn"])


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    repository = Repository(
        tmp_path / "repo", tmp_path / "repo" / "environments" / "Pulumi.prod.yaml"
    )
    write_stack_file("prod", repository.main, ())
    repository.init()
    return repository


def serve(repo: Repository, clients: SimClients, arn: str) -> PullRequest | None:
    command, branch_of = serve_command(clients, "prod", arn)
    return repo.propose(command, branch_of, "serve", NOW)[0]


def test_an_approval_opens_one_pull_request_that_pins_exactly_its_package(
    repo: Repository, clients: SimClients
) -> None:
    arn = register(clients)
    pull = serve(repo, clients, arn)
    assert pull is not None and pull.arn == arn and pull.branch.startswith("serve/prod/")
    assert arn not in repo.main.read_text()  # main changes only when the pull request merges
    assert serve(repo, clients, arn) is None  # a duplicate delivery finds the pull request
    assert repo.merge(pull, NOW) and arn in repo.main.read_text()
    assert not repo.merge(pull, NOW) and pull.reviews == 2
    assert pins_problems(clients, "prod", repo.main) == []


def test_a_package_that_is_not_approved_is_refused(repo: Repository, clients: SimClients) -> None:
    arn = register(clients, "PendingManualApproval")
    with pytest.raises(MlopsError, match="only an Approved package is served"):
        serve(repo, clients, arn)
    assert repo.pulls == []


def test_a_rollback_pins_what_the_stack_file_served_before(
    repo: Repository, clients: SimClients
) -> None:
    first, second = register(clients), register(clients)
    for arn in (first, second):
        pull = serve(repo, clients, arn)
        assert pull is not None
        repo.merge(pull, NOW)
    command, branch_of = rollback_command(clients, "prod")
    pull, done = repo.propose(command, branch_of, "rollback", NOW)
    assert pull is not None and pull.arn == first
    assert done.found_in.startswith("git history")
    repo.merge(pull, NOW)
    assert first in repo.main.read_text() and second not in repo.main.read_text()


def test_a_pull_request_behind_main_runs_its_command_again_on_merge(
    repo: Repository, clients: SimClients
) -> None:
    first, second = register(clients), register(clients)
    early, late = serve(repo, clients, first), serve(repo, clients, second)
    assert early is not None and late is not None and early.base == late.base
    repo.merge(early, NOW)
    repo.merge(late, NOW)  # main moved under it: its deploy ran again on main
    assert second in repo.main.read_text() and first not in repo.main.read_text()
    log = repo.git("log", "--format=%s")
    assert log.splitlines()[:2] == [late.title, early.title]


def test_the_deploy_check_refuses_a_pin_rejected_since(
    repo: Repository, clients: SimClients
) -> None:
    arn = register(clients)
    pull = serve(repo, clients, arn)
    assert pull is not None
    repo.merge(pull, NOW)
    clients.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    problems = pins_problems(clients, "prod", repo.main)
    assert problems and arn in " ".join(problems)


def test_prod_is_the_last_stack_so_an_approval_there_promotes_nothing(
    clients: SimClients, repo: Repository
) -> None:
    arn = register(clients)
    assert "prod is the last stack" in promote_next(clients, arn, {"prod": repo.main})


def test_an_approval_reaches_the_simulated_github_as_promote_yml_reads_it(
    tmp_path: Path, clients: SimClients
) -> None:
    """The plan's approval rule and dispatch target, put in the emulator, deliver the body."""
    path = tmp_path / "Pulumi.prod.yaml"
    write_stack_file("prod", path, GITHUB_DELIVERY, None, GITHUB_TOKEN)
    plan = synthesize_stack("prod", path)
    bus = Bus(clients, DeliveryPolicy(repeat_share=0.0), seed=1)
    bus.stand_ins = put_rules(plan, clients, [])
    arn = register(clients)
    package = clients.sagemaker.describe_model_package(ModelPackageName=arn)
    deliveries = bus.put(package_event(package, NOW), NOW)
    dispatches = [d for d in deliveries if ":api-destination/" in d.target_arn]
    assert len(dispatches) == 1
    body = dispatches[0].body
    assert body["event_type"] == "model-approved"
    assert body["client_payload"]["model_package_arn"] == arn
    assert body["client_payload"]["stack"] == "prod"
