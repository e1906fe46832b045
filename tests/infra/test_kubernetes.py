"""The Kubernetes target: hardened pods, probes, canary routing, manifests a scanner can read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, load_stack
from infra.plan.engine import Plan
from infra.plan.kubernetes import api_version_and_kind, write_manifests

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-serving"
IMAGE = f"{REGISTRY}@sha256:{'a' * 64}"
CANARY_IMAGE = f"{REGISTRY}@sha256:{'b' * 64}"
MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
ENABLED = (
    "kubernetes.enabled=true",
    f"kubernetes.image={IMAGE}",
    f"serving.modelPackageArn={MODEL_ARN}",
)
WITH_CANARY = (*ENABLED, f"kubernetes.canaryImage={CANARY_IMAGE}", "kubernetes.canaryWeight=10")

PlanFor = Callable[..., Plan]


@pytest.fixture
def plan(plan_for: PlanFor) -> Plan:
    return plan_for("prod", *WITH_CANARY)


def k8s(plan: Plan, kind: str) -> list[dict[str, Any]]:
    return [
        r["inputs"]
        for r in plan.resources
        if r["type"].startswith("kubernetes:") and r["type"].endswith(f":{kind}")
    ]


def deployment(plan: Plan, name: str) -> dict[str, Any]:
    return next(d for d in k8s(plan, "Deployment") if d["metadata"]["name"] == name)


def container(plan: Plan, name: str) -> dict[str, Any]:
    return deployment(plan, name)["spec"]["template"]["spec"]["containers"][0]


def test_kubernetes_is_off_unless_enabled(plan_for: PlanFor) -> None:
    assert not [r for r in plan_for("prod").resources if r["type"].startswith("kubernetes:")]


def test_the_target_has_every_piece(plan: Plan) -> None:
    kinds = {
        r["type"].rsplit(":", 1)[1] for r in plan.resources if r["type"].startswith("kubernetes:")
    }
    assert kinds == {
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


@pytest.mark.parametrize("name", ["model-server", "model-server-canary"])
def test_pods_run_non_root_read_only_without_privileges(plan: Plan, name: str) -> None:
    pod = deployment(plan, name)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(plan, name)["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(plan, name)["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]


def test_container_follows_the_sagemaker_contract_with_probes_and_limits(plan: Plan) -> None:
    server = container(plan, "model-server")
    assert server["image"] == IMAGE and server["imagePullPolicy"] == "Always"
    assert server["args"][:3] == ["serve", "--host", "0.0.0.0"]
    assert server["ports"][0]["containerPort"] == 8080
    for probe in ("readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/ping", "port": "http"}
    resources = server["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_canary_ingress_sends_the_configured_weight_to_the_canary_service(plan: Plan) -> None:
    ingresses = {i["metadata"]["name"]: i for i in k8s(plan, "Ingress")}
    canary = ingresses["model-server-canary"]
    assert canary["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "10",
    }
    backend = canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "model-server-canary"
    stable = ingresses["model-server"]
    assert "nginx.ingress.kubernetes.io/canary" not in stable["metadata"].get("annotations", {})
    assert stable["spec"]["rules"][0]["host"] == canary["spec"]["rules"][0]["host"]
    assert stable["spec"]["tls"][0]["hosts"] == [stable["spec"]["rules"][0]["host"]]
    assert container(plan, "model-server-canary")["image"] == CANARY_IMAGE


def test_autoscaler_budget_and_network_policy_guard_the_stable_pods(plan: Plan) -> None:
    (autoscaler,) = k8s(plan, "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "model-server"
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (2, 6)
    assert "replicas" not in deployment(plan, "model-server")["spec"]  # the autoscaler owns it
    (budget,) = k8s(plan, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"]["mlops/track"] == "stable"
    (policy,) = k8s(plan, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    # Out: DNS, the Pod Identity agent, and HTTPS for the model artifact; no metadata service.
    egress = policy["spec"]["egress"]
    assert [rule["ports"] for rule in egress] == [
        [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        [{"port": 80, "protocol": "TCP"}],
        [{"port": 443, "protocol": "TCP"}],
    ]
    assert egress[1]["to"][0] == {"ipBlock": {"cidr": "169.254.170.23/32"}}
    assert egress[2]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_every_namespaced_object_lives_in_the_serving_namespace(plan: Plan) -> None:
    for resource in plan.resources:
        if resource["type"].startswith("kubernetes:") and not resource["type"].endswith(
            ":Namespace"
        ):
            assert resource["inputs"]["metadata"]["namespace"] == "mlops-serving", resource["name"]


@pytest.mark.parametrize("key", ["kubernetes.image", "kubernetes.canaryImage"])
def test_staging_and_prod_refuse_an_image_without_a_digest(key: str) -> None:
    assignments = [*WITH_CANARY, f"{key}={REGISTRY}:1.4.0"]
    for stack in ("staging", "prod"):
        with pytest.raises(ConfigError, match=f"mlops:{key} .*digest"):
            load_stack(stack, overrides=assignments)


def test_dev_accepts_a_tagged_image() -> None:
    config = load_stack(
        "dev", overrides=["kubernetes.enabled=true", f"kubernetes.image={REGISTRY}:1.4.0"]
    )
    assert config.kubernetes.image == f"{REGISTRY}:1.4.0"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kubernetes:apps/v1:Deployment", ("apps/v1", "Deployment")),
        ("kubernetes:core/v1:Service", ("v1", "Service")),
        ("kubernetes:networking.k8s.io/v1:Ingress", ("networking.k8s.io/v1", "Ingress")),
    ],
)
def test_api_version_and_kind_come_from_the_type_token(
    token: str, expected: tuple[str, str]
) -> None:
    assert api_version_and_kind(token) == expected


def test_api_version_refuses_other_types() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes"):
        api_version_and_kind("aws:s3/bucket:Bucket")


def test_manifests_are_one_file_per_object_in_apply_order(plan: Plan, tmp_path: Path) -> None:
    stale = tmp_path / "99-deployment-gone.yaml"
    stale.write_text("kind: Deployment\n", encoding="utf-8")
    written = write_manifests(plan, tmp_path)
    count = sum(1 for r in plan.resources if r["type"].startswith("kubernetes:"))
    assert len(written) == count == len(list(tmp_path.glob("*.yaml")))
    assert not stale.exists()
    documents = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in written]
    assert documents[0]["kind"] == "Namespace" and documents[-1]["kind"] == "Ingress"
    stable = next(
        d
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "model-server"
    )
    assert stable["apiVersion"] == "apps/v1"
    port = stable["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert port == 8080 and isinstance(port, int)
    ingress = next(
        d for d in documents if d["kind"] == "Ingress" and d["metadata"]["name"] == "model-server"
    )
    assert "annotations" not in ingress["metadata"]


def test_no_manifests_without_kubernetes(plan_for: PlanFor, tmp_path: Path) -> None:
    assert write_manifests(plan_for("prod"), tmp_path / "k8s") == []
