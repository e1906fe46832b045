"""The project image: its ECR repository, the build and push, and one digest everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.image_context import context_sha256, image_tag
from infra.plan.engine import Plan
from pipelines.definitions.training import flatten_steps
from tests.infra.conftest import policy

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker-build:index:Image"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PULL_ACTIONS = {
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
}
BY_DIGEST = re.compile(
    r"^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/mlops-(dev|staging|prod)-image"
    r"@sha256:[0-9a-f]{64}$"
)
# A pinned package (a stand-in offline: one this stack's pipeline registered, in its image).
K8S = (
    "kubernetes.enabled=true",
    "serving.modelPackageArn=arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3",
)


def image_uri(plan: Plan) -> str:
    return plan.outputs["imageUri"]


def definition_images(plan: Plan) -> dict[str, str]:
    """Step name -> the image it runs (job steps and the registered model)."""
    definition = json.loads(plan.one(PIPELINE)["inputs"]["pipelineDefinition"])
    images: dict[str, str] = {}
    for step in flatten_steps(definition):
        arguments = step["Arguments"]
        if step["Type"] == "Processing":
            images[step["Name"]] = arguments["AppSpecification"]["ImageUri"]
        elif step["Type"] == "Training":
            images[step["Name"]] = arguments["AlgorithmSpecification"]["TrainingImage"]
        elif step["Type"] == "RegisterModel":
            (container,) = arguments["InferenceSpecification"]["Containers"]
            images[step["Name"]] = container["Image"]
    return images


def statements(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    return [
        (resource["name"], statement)
        for resource in plan.of_type(ROLE_POLICY)
        for statement in policy(resource)["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_image_is_referenced_by_digest_in_the_stacks_repository(plan_for, stack) -> None:
    assert BY_DIGEST.match(image_uri(plan_for(stack)))


def test_every_job_step_and_the_registered_model_run_the_project_image(plan_for) -> None:
    plan = plan_for("prod")
    images = definition_images(plan)
    assert set(images) == {
        "Dataset",
        "Validate",
        "Features",
        "Train",
        "Evaluate",
        "Champion",
        "Register",
    }
    assert set(images.values()) == {image_uri(plan)}


def test_kubernetes_deployments_default_to_the_project_image(plan_for) -> None:
    plan = plan_for("prod", *K8S)
    deployments = [r for r in plan.resources if r["type"] == "kubernetes:apps/v1:Deployment"]
    assert deployments
    for deployment in deployments:
        (container,) = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == image_uri(plan)


def test_the_digest_is_the_build_contexts_hash_offline(plan_for) -> None:
    plan = plan_for("staging")
    assert image_uri(plan).endswith(f"@sha256:{context_sha256()}")
    assert plan.one(IMAGE)["outputs"]["digest"] == f"sha256:{context_sha256()}"


def test_repository_is_encrypted_with_the_stack_key_immutable_and_scanned(plan_for) -> None:
    plan = plan_for("prod")
    repository = plan.one(REPOSITORY)["inputs"]
    assert repository["name"] == "mlops-prod-image"
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    assert repository["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]


@pytest.mark.parametrize(("stack", "force"), [("dev", True), ("staging", False), ("prod", False)])
def test_repository_is_force_deleted_only_where_storage_is(plan_for, stack, force) -> None:
    assert plan_for(stack).one(REPOSITORY)["inputs"]["forceDelete"] is force


def test_repository_is_protected_in_prod(plan_for) -> None:
    assert plan_for("prod").one(REPOSITORY)["protect"] is True


def test_lifecycle_expires_untagged_images_and_keeps_the_newest(plan_for) -> None:
    plan = plan_for("prod")
    lifecycle = plan.one(LIFECYCLE)["inputs"]
    assert lifecycle["repository"] == "mlops-prod-image"
    rules = sorted(json.loads(lifecycle["policy"])["rules"], key=lambda r: r["rulePriority"])
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
    assert rules[0]["selection"]["countType"] == "sinceImagePushed"
    assert rules[0]["selection"]["countNumber"] <= 7
    assert rules[1]["selection"]["countType"] == "imageCountMoreThan"
    assert all(r["action"] == {"type": "expire"} for r in rules)


def test_image_is_built_from_the_repository_root_for_sagemakers_platform(plan_for) -> None:
    from infra.image_context import REPO_ROOT

    build = plan_for("prod").one(IMAGE)["inputs"]
    assert (Path.cwd() / build["context"]["location"]).resolve() == REPO_ROOT
    assert (
        Path.cwd() / build["dockerfile"]["location"]
    ).resolve() == REPO_ROOT / "ml" / "Dockerfile"
    assert not Path(build["context"]["location"]).is_absolute()
    assert build["platforms"] == ["linux/amd64"]
    assert build["push"] is True


def test_image_is_pushed_under_the_context_hash_tag_with_ecr_credentials(plan_for) -> None:
    plan = plan_for("prod")
    build = plan.one(IMAGE)["inputs"]
    url = plan.one(REPOSITORY)["outputs"]["repositoryUrl"]
    assert build["tags"] == [f"{url}:{image_tag(context_sha256())}"]
    (registry,) = build["registries"]
    assert registry["address"] == url
    assert registry["username"] == "AWS" and registry["password"]


def test_execution_role_may_pull_this_repository_and_no_other(plan_for) -> None:
    plan = plan_for("prod")
    repository_arn = plan.one(REPOSITORY)["outputs"]["arn"]
    pulls = [
        (name, statement)
        for name, statement in statements(plan)
        if PULL_ACTIONS & set(as_list(statement["Action"]))
    ]
    assert [name for name, _ in pulls] == ["mlops-prod-execution-image-pull"]
    (_, statement) = pulls[0]
    assert set(as_list(statement["Action"])) == PULL_ACTIONS
    assert as_list(statement["Resource"]) == [repository_arn]


def test_only_the_registry_token_is_granted_without_a_resource_scope(plan_for) -> None:
    plan = plan_for("prod")
    ecr = [
        s for _, s in statements(plan) if any(a.startswith("ecr:") for a in as_list(s["Action"]))
    ]
    unscoped = [s for s in ecr if "*" in as_list(s["Resource"])]
    assert [as_list(s["Action"]) for s in unscoped] == [["ecr:GetAuthorizationToken"]]
