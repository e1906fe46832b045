"""Kubernetes manifests from a plan: what ``pulumi up`` would apply, as YAML files.

Scanners that read Kubernetes YAML (checkov's kubernetes framework) then
check exactly what the program registers. Each ``kubernetes:`` resource
becomes one file; ``apiVersion`` and ``kind`` come from its type token
(``kubernetes:apps/v1:Deployment`` is ``apps/v1`` ``Deployment``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from infra.plan.engine import Plan

TYPE_PREFIX = "kubernetes:"
# Apply order: what others live in or refer to comes first.
KIND_ORDER = [
    "Namespace",
    "ServiceAccount",
    "NetworkPolicy",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
]
WRITTEN_NAME = re.compile(r"^\d{2}-[a-z]+-[-a-z0-9.]+\.yaml$")


def api_version_and_kind(type_token: str) -> tuple[str, str]:
    """``kubernetes:networking.k8s.io/v1:Ingress`` -> (``networking.k8s.io/v1``, ``Ingress``)."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        raise ValueError(f"not a Kubernetes resource type: {type_token!r}")
    group, version = parts[1].split("/", 1)
    return (version if group == "core" else f"{group}/{version}"), parts[2]


def manifest(resource: dict[str, Any]) -> dict[str, Any]:
    """One resource of the plan as the object the cluster would receive."""
    api_version, kind = api_version_and_kind(resource["type"])
    body = {k: v for k, v in resource["inputs"].items() if k not in ("apiVersion", "kind")}
    metadata = dict(body.pop("metadata", {}))
    if not metadata.get("annotations"):
        metadata.pop("annotations", None)
    return _integral({"apiVersion": api_version, "kind": kind, "metadata": metadata, **body})


def _integral(value: Any) -> Any:
    """Whole floats back to ints: the engine's wire format turns every number into a float."""
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _order(document: dict[str, Any]) -> tuple[int, str]:
    kind = document["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, str(document["metadata"].get("name", ""))


def write_manifests(plan: Plan, out_dir: Path) -> list[Path]:
    """Write one YAML file per Kubernetes resource of ``plan``; return the paths, in apply order.

    Files this function wrote before are removed first, so a resource dropped
    from the program does not linger in the folder a scanner reads.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.yaml"):
        if WRITTEN_NAME.match(stale.name):
            stale.unlink()
    documents = sorted(
        (manifest(r) for r in plan.resources if r["type"].startswith(TYPE_PREFIX)), key=_order
    )
    written: list[Path] = []
    for index, document in enumerate(documents, start=1):
        name = document["metadata"].get("name", "unnamed")
        path = out_dir / f"{index:02d}-{document['kind'].lower()}-{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=True), encoding="utf-8")
        written.append(path)
    return written
