"""The Kubernetes pods serve the model package SageMaker serves: same artifact, same image."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError
from infra.plan.engine import Plan, synthesize
from ml.model_artifact import TARBALL
from tests.infra.conftest import policy

ACCOUNT = "123456789012"
GROUP = "mlops-prod-fraud-models"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/3"
CANARY_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/4"
BUCKET = f"mlops-prod-artifacts-{ACCOUNT}-us-east-1"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mlops-prod-image"
PINNED = ("kubernetes.enabled=true", f"serving.modelPackageArn={ARN}")


def package(
    arn: str, key: str, digest: str, sha: str = "", status: str = "Approved"
) -> dict[str, Any]:
    """A DescribeModelPackage answer, as the registry would give it."""
    return {
        "ModelPackageArn": arn,
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": f"{REPOSITORY}@sha256:{digest * 64}",
                    "ModelDataUrl": f"s3://{BUCKET}/{key}",
                }
            ]
        },
        "CustomerMetadataProperties": {"ModelSha256": sha} if sha else {},
    }


STABLE = package(ARN, f"pipeline-runs/e1/train/t1/output/{TARBALL}", "c", sha="f" * 64)
CANARY = package(CANARY_ARN, f"promoted/staging/4/pipeline-runs/e2/train/t2/output/{TARBALL}", "d")


def plan_with(*overrides: str, packages: dict[str, Any] | None = None) -> Plan:
    known = {ARN: STABLE, CANARY_ARN: CANARY} if packages is None else packages
    return synthesize("prod", overrides=[*PINNED, *overrides], model_packages=known)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_with(f"kubernetes.canaryModelPackageArn={CANARY_ARN}", "kubernetes.canaryWeight=10")


def pod(plan: Plan, name: str) -> dict[str, Any]:
    deployment = next(
        r["inputs"]
        for r in plan.of_type("kubernetes:apps/v1:Deployment")
        if r["inputs"]["metadata"]["name"] == name
    )
    return deployment["spec"]["template"]


def test_the_init_container_fetches_the_pinned_artifact_and_checks_its_digest(plan) -> None:
    template = pod(plan, "model-server")
    (fetch,) = template["spec"]["initContainers"]
    assert fetch["command"] == ["python3", "-m", "pipelines.jobs.fetch_model"]
    url = STABLE["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert fetch["args"] == [
        "--model-data-url",
        url,
        "--sha256",
        "f" * 64,
        "--model-dir",
        "/opt/ml/model",
    ]
    assert template["metadata"]["annotations"]["mlops/model-package"] == ARN


def test_the_server_reads_the_fetched_model_read_only(plan) -> None:
    spec = pod(plan, "model-server")["spec"]
    (server,) = spec["containers"]
    assert server["args"][-2:] == ["--model-dir", "/opt/ml/model"]
    assert {"name": "model", "mountPath": "/opt/ml/model", "readOnly": True} in server[
        "volumeMounts"
    ]
    assert {"name": "model", "emptyDir": {"sizeLimit": "1Gi"}} in spec["volumes"]
    assert spec["initContainers"][0]["securityContext"] == server["securityContext"]


def test_the_pods_run_the_image_the_package_names_by_digest(plan) -> None:
    spec = pod(plan, "model-server")["spec"]
    image = f"{REPOSITORY}@sha256:{'c' * 64}"
    assert spec["containers"][0]["image"] == spec["initContainers"][0]["image"] == image


def test_the_canary_switches_the_model_and_its_image(plan) -> None:
    canary = pod(plan, "model-server-canary")
    fetch = canary["spec"]["initContainers"][0]
    assert fetch["args"][1] == CANARY["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert "--sha256" not in fetch["args"]  # none recorded: nothing to compare
    assert canary["spec"]["containers"][0]["image"] == f"{REPOSITORY}@sha256:{'d' * 64}"
    assert canary["metadata"]["annotations"]["mlops/model-package"] == CANARY_ARN


def test_the_pod_role_reads_exactly_the_served_objects_through_s3(plan) -> None:
    grant = next(
        r
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if r["name"] == "mlops-prod-model-server-served-model-artifacts"
    )
    statements = {s["Sid"]: s for s in policy(grant)["Statement"]}
    keys = [p["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] for p in (STABLE, CANARY)]
    assert statements["ReadTheseObjects"]["Resource"] == [
        f"arn:aws:s3:::{url.removeprefix('s3://')}" for url in keys
    ]
    assert statements["UseTheStackKeyForThisBucket"]["Action"] == ["kms:Decrypt"]
    assert set(statements) == {"ReadTheseObjects", "UseTheStackKeyForThisBucket"}


def test_only_eks_pod_identity_for_the_service_account_assumes_the_role(plan) -> None:
    role = plan.one("aws:iam/role:Role", "mlops-prod-model-server")
    (trust,) = policy(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"] == {
        "aws:SourceAccount": ACCOUNT,
        "aws:RequestTag/eks-cluster-name": "mlops-prod",
        "aws:RequestTag/kubernetes-namespace": "mlops-serving",
        "aws:RequestTag/kubernetes-service-account": "model-server",
    }
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")["inputs"]
    assert (association["clusterName"], association["serviceAccount"]) == (
        "mlops-prod",
        "model-server",
    )
    assert association["roleArn"] == role["outputs"]["arn"]


def test_the_cluster_name_can_be_set(plan_for) -> None:
    association = plan_for("prod", *PINNED, "kubernetes.clusterName=shared-eks").one(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation"
    )
    assert association["inputs"]["clusterName"] == "shared-eks"


def test_deployments_wait_for_the_pod_identity_association(plan) -> None:
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    for deployment in plan.of_type("kubernetes:apps/v1:Deployment"):
        assert association["urn"] in deployment["dependencies"]


def test_without_a_pinned_model_the_cluster_gets_nothing_and_the_output_says_why(plan_for) -> None:
    plan = plan_for("prod", "kubernetes.enabled=true")
    assert not [r for r in plan.resources if r["type"].startswith("kubernetes:")]
    assert (
        plan.outputs["kubernetesStatus"] == "no model package pinned: run mlops promote --to prod"
    )


def test_an_unknown_package_is_a_labelled_stand_in(plan_for) -> None:
    plan = plan_for("prod", *PINNED)
    assert any(ARN in note and "stand-in" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("described", "words"),
    [
        (
            package(ARN, f"k/{TARBALL}", "c", status="PendingManualApproval"),
            "is PendingManualApproval",
        ),
        (
            {
                **STABLE,
                "InferenceSpecification": {
                    "Containers": [{"Image": REPOSITORY, "ModelDataUrl": f"s3://{BUCKET}/m"}]
                },
            },
            "not pinned by digest",
        ),
        (
            {
                **STABLE,
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": f"{REPOSITORY}@sha256:{'c' * 64}",
                            "ModelDataUrl": "s3://other-bucket/m.tar.gz",
                        }
                    ]
                },
            },
            "not in this stack's bucket",
        ),
    ],
)
def test_a_package_the_pods_cannot_serve_is_one_line_naming_the_pin(
    described: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        plan_with(packages={ARN: described})
    message = str(raised.value)
    assert message.startswith(f"invalid config mlops:serving.modelPackageArn = {ARN!r}")
    assert words in message and "\n" not in message


def test_an_image_digest_beside_a_tag_pins_the_image() -> None:
    tagged = json.loads(json.dumps(STABLE))
    container = tagged["InferenceSpecification"]["Containers"][0]
    container.update(Image=f"{REPOSITORY}:v3", ImageDigest=f"sha256:{'e' * 64}")
    image = pod(plan_with(packages={ARN: tagged}), "model-server")["spec"]["containers"][0]["image"]
    assert image == f"{REPOSITORY}@sha256:{'e' * 64}"
