"""kubernetes-validate --strict and the API server's rules on every manifest of every stack."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.plan.kubernetes import TYPE_PREFIX, manifest
from infra.plan.validate.manifests import check_documents
from tests.validators.conftest import STACKS


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    from tests.validators.conftest import stack_plan

    plan = stack_plan("prod")
    return [manifest(r) for r in plan.resources if r["type"].startswith(TYPE_PREFIX)]


def failed(documents: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r.check_id, r.resource) for r in check_documents(documents) if r.status == "failed"}


def deployment(documents: list[dict[str, Any]], name: str = "model-server") -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == name)


@pytest.mark.parametrize("stack", STACKS)
def test_every_manifest_passes_the_schema_and_the_api_server_rules(report_of, stack: str) -> None:
    report = report_of(stack)
    failures = [
        (f.check_id, f.resource, f.detail)
        for f in report.failures
        if f.source == "validator:kubernetes"
    ]
    assert failures == []
    # Namespace, service account, 2 Deployments, 2 Services, 2 Ingresses, HPA, PDB, policy.
    assert report.checked["manifests"] == 11


def test_the_clean_manifests_pass(documents) -> None:
    assert failed(documents) == set()


def test_an_unknown_field_fails_the_strict_schema(documents) -> None:
    broken = copy.deepcopy(documents)
    deployment(broken)["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert ("K8S_SCHEMA", "Deployment.model-server") in failed(broken)


def test_a_wrong_type_fails_the_schema(documents) -> None:
    broken = copy.deepcopy(documents)
    deployment(broken)["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = (
        "http"
    )
    assert ("K8S_SCHEMA", "Deployment.model-server") in failed(broken)


@pytest.mark.parametrize("where", ["containers", "initContainers"])
def test_a_request_above_its_limit_fails(documents, where: str) -> None:
    """The schema accepts it; the API server refuses it."""
    broken = copy.deepcopy(documents)
    container = deployment(broken)["spec"]["template"]["spec"][where][0]
    container["resources"] = {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}
    problems = failed(broken)
    assert ("K8S_REQUESTS_WITHIN_LIMITS", "Deployment.model-server") in problems
    assert ("K8S_SCHEMA", "Deployment.model-server") not in problems


def test_a_selector_that_misses_the_template_labels_fails(documents) -> None:
    broken = copy.deepcopy(documents)
    deployment(broken)["spec"]["selector"]["matchLabels"]["mlops/track"] = "blue"
    assert ("K8S_SELECTOR_MATCHES_TEMPLATE", "Deployment.model-server") in failed(broken)


def test_a_service_that_selects_no_pod_fails(documents) -> None:
    broken = copy.deepcopy(documents)
    service = next(
        d for d in broken if d["kind"] == "Service" and d["metadata"]["name"] == "model-server"
    )
    service["spec"]["selector"]["mlops/track"] = "nowhere"
    assert ("K8S_REFERENCES_EXIST", "Service.model-server") in failed(broken)


def test_an_autoscaler_of_a_missing_deployment_fails(documents) -> None:
    broken = copy.deepcopy(documents)
    autoscaler = next(d for d in broken if d["kind"] == "HorizontalPodAutoscaler")
    autoscaler["spec"]["scaleTargetRef"]["name"] = "gone"
    assert ("K8S_REFERENCES_EXIST", "HorizontalPodAutoscaler.model-server") in failed(broken)
