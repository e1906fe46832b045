"""Every Kubernetes manifest of a plan, checked as the API server would check it.

``kubernetes-validate --strict`` checks each object against the Kubernetes
OpenAPI schema of ``KUBERNETES_VERSION`` with unknown fields refused; then
the rules the API server enforces beyond the schema: a container's requests
within its limits, a Deployment's selector matching its pod template's
labels, and Services, disruption budgets, network policies, autoscalers and
Ingresses pointing at objects that exist.
https://github.com/willthames/kubernetes-validate
https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from infra.config.quantity import parse_quantity
from infra.plan.checkov import CheckResult, Status
from infra.plan.kubernetes import TYPE_PREFIX, manifest

if TYPE_CHECKING:
    from infra.plan.engine import Plan

SOURCE = "validator:kubernetes"
# The oldest Kubernetes version in EKS standard support when these manifests were last
# reviewed; an object valid there is valid in the versions after it that still serve its API.
# https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
KUBERNETES_VERSION = "1.32"
CHECKS = {
    "K8S_SCHEMA": f"kubernetes-validate --strict accepts it (Kubernetes {KUBERNETES_VERSION})",
    "K8S_REQUESTS_WITHIN_LIMITS": "Every container requests no more than its limits",
    "K8S_SELECTOR_MATCHES_TEMPLATE": "The selector matches the pod template's labels",
    "K8S_REFERENCES_EXIST": "What it selects or names exists in the plan",
}


def schema_problems(document: dict[str, Any]) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.absolute_path) or "(root)"
        return [f"{path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [error.message]
    return []


def pod_template(document: dict[str, Any]) -> dict[str, Any] | None:
    return (document.get("spec") or {}).get("template")


def _containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    template = pod_template(document) or {}
    spec = template.get("spec") or {}
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def requests_within_limits(document: dict[str, Any], _: list[dict[str, Any]]) -> list[str]:
    problems = []
    for container in _containers(document):
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        for name, request in requests.items():
            limit = limits.get(name)
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                problems.append(
                    f"{container['name']}: {name} request {request} exceeds its limit {limit}"
                )
    return problems


def selector_matches_template(document: dict[str, Any], _: list[dict[str, Any]]) -> list[str]:
    template = pod_template(document)
    if template is None:
        return []
    selector = (document["spec"].get("selector") or {}).get("matchLabels") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or not _matches(selector, labels):
        return [f"selector {selector} does not match the template labels {labels}"]
    return []


def references_exist(document: dict[str, Any], documents: list[dict[str, Any]]) -> list[str]:
    """Services, budgets and policies select some pod; autoscalers and Ingresses name objects."""
    spec = document.get("spec") or {}
    kind = document["kind"]
    selector: dict[str, str] | None = None
    if kind == "Service":
        selector = spec.get("selector")
    elif kind in ("PodDisruptionBudget", "NetworkPolicy"):
        key = "selector" if kind == "PodDisruptionBudget" else "podSelector"
        selector = (spec.get(key) or {}).get("matchLabels")
    if selector is not None and not any(
        _matches(selector, ((pod_template(d) or {}).get("metadata") or {}).get("labels") or {})
        for d in documents
    ):
        return [f"{kind} selects {selector}, which no pod template carries"]
    names = {(d["kind"], d["metadata"].get("name")) for d in documents}
    wanted: list[tuple[str, str]] = []
    if kind == "HorizontalPodAutoscaler":
        target = spec.get("scaleTargetRef") or {}
        wanted.append((target.get("kind", ""), target.get("name", "")))
    if kind == "Ingress":
        for rule in spec.get("rules", []):
            for path in (rule.get("http") or {}).get("paths", []):
                wanted.append(("Service", path["backend"]["service"]["name"]))
    return [
        f"{kind} names {k} {n!r}, which the plan does not hold"
        for k, n in wanted
        if (k, n) not in names
    ]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


RULES = {
    "K8S_REQUESTS_WITHIN_LIMITS": requests_within_limits,
    "K8S_SELECTOR_MATCHES_TEMPLATE": selector_matches_template,
    "K8S_REFERENCES_EXIST": references_exist,
}


def check_documents(documents: list[dict[str, Any]]) -> list[CheckResult]:
    """Every check on every document (``kind/name`` names the object)."""
    results: list[CheckResult] = []
    for document in documents:
        address = f"{document['kind']}.{document['metadata'].get('name', 'unnamed')}"
        problems = {"K8S_SCHEMA": schema_problems(document)}
        problems.update({check: rule(document, documents) for check, rule in RULES.items()})
        for check_id, found in problems.items():
            status: Status = "failed" if found else "passed"
            results.append(
                CheckResult(
                    SOURCE,
                    check_id,
                    CHECKS[check_id],
                    address,
                    document["apiVersion"],
                    status,
                    "; ".join(found),
                )
            )
    return results


def check_manifests(plan: Plan) -> tuple[list[CheckResult], int]:
    documents = [manifest(r) for r in plan.resources if r["type"].startswith(TYPE_PREFIX)]
    return check_documents(documents), len(documents)
