"""The pull request of a pin: a branch per change, and a body a reviewer can judge."""

from __future__ import annotations

from ops.release.deploy import deploy
from ops.release.pull_request import rollback_request, serve_request, write_github_output
from pipelines import registry
from tests.factories import register_package
from tests.workflow_runner import parse_outputs

PROD = "mlops-prod-fraud-models"


def test_serving_an_approval_names_its_branch_after_the_package(sagemaker, tmp_path) -> None:
    first = register_package(sagemaker, group=PROD, status="Approved")
    arn = register_package(sagemaker, group=PROD, pr_auc=0.71)
    registry.approve(sagemaker, arn, "PR AUC 0.71 vs champion 0.69")
    path = tmp_path / "Pulumi.prod.yaml"
    deploy(sagemaker, "prod", path, arn=first)
    request = serve_request(deploy(sagemaker, "prod", path, arn=arn))
    assert request.branch == "serve/prod/mlops-prod-fraud-models-2"
    assert request.title == "Serve mlops-prod-fraud-models version 2 in prod"
    assert f"| replaces | `{first}` |" in request.body
    assert "| approval | PR AUC 0.71 vs champion 0.69 |" in request.body
    assert "| PR AUC | 0.71 |" in request.body
    assert "with a 10% canary baked 600 s" in request.body  # prod's rollout
    assert request.stack_file == str(path.resolve())


def test_a_rollback_names_both_versions(sagemaker, tmp_path) -> None:
    first, second = (register_package(sagemaker, group=PROD, status="Approved") for _ in range(2))
    path = tmp_path / "Pulumi.prod.yaml"
    deploy(sagemaker, "prod", path, arn=second)
    request = rollback_request(deploy(sagemaker, "prod", path, arn=first), "registry")
    assert request.branch == "rollback/prod/mlops-prod-fraud-models-2-to-1"
    assert request.title == "Roll prod back to mlops-prod-fraud-models version 1"


def test_the_step_outputs_read_back_as_a_runner_reads_them(sagemaker, tmp_path) -> None:
    arn = register_package(sagemaker, group=PROD, status="Approved")
    done = deploy(sagemaker, "prod", tmp_path / "Pulumi.prod.yaml", arn=arn)
    request = serve_request(done)
    output = tmp_path / "github_output"
    output.write_text("earlier=step\n")
    write_github_output(output, done.file_changed, request)
    outputs = parse_outputs(output.read_text())
    assert outputs == {
        "earlier": "step",
        "changed": "true",
        "branch": request.branch,
        "title": request.title,
        "stack_file": request.stack_file,
        "body": request.body,
    }
    assert "\n" in outputs["body"]  # the multi-line body survives


def test_serving_an_older_version_than_the_served_one_is_pointed_out(sagemaker, tmp_path) -> None:
    older, newer = (register_package(sagemaker, group=PROD, status="Approved") for _ in range(2))
    path = tmp_path / "Pulumi.prod.yaml"
    deploy(sagemaker, "prod", path, arn=newer)
    late = serve_request(deploy(sagemaker, "prod", path, arn=older))
    assert "version 1 is older than the version it replaces (2)" in late.body
    fresh = serve_request(deploy(sagemaker, "prod", path, arn=newer))
    assert "older than" not in fresh.body
