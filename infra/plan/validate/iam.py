"""Every IAM policy document of a plan, linted by parliament (Duo Labs' IAM linter).

Identity policies, trust policies and the resource policies of buckets, keys,
topics and queues: parliament knows each service's actions, resource types
and condition keys (from AWS's service authorization reference), so an
unknown action, a condition key an action never carries, or a resource of
the wrong type is a finding. Each finding is a failed check on the resource
that holds the document, unless the reviewed allow-list explains it.
https://github.com/duo-labs/parliament
"""

from __future__ import annotations

import importlib.resources
import json
import sys
import types
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from infra.plan.checkov import CheckResult
from infra.plan.iam_documents import documents_in
from infra.plan.tfplan import resource_addresses

if TYPE_CHECKING:
    from infra.plan.engine import Plan

SOURCE = "validator:iam"
NAME = "parliament finds nothing wrong in the policy document"
PASSED = "PARLIAMENT"


@cache
def parliament_module() -> Any:
    """The parliament module (the AWS IAM policy linter and its Service Authorization data).

    parliament 1.6 locates its data with ``pkg_resources``, which setuptools no
    longer installs by default; a stand-in answering ``resource_filename`` from
    ``importlib.resources`` is provided when the real one is absent.
    """
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("pkg_resources")
            stand_in.resource_filename = (  # type: ignore[attr-defined]
                lambda package, name: str(importlib.resources.files(package) / name)
            )
            sys.modules["pkg_resources"] = stand_in
    import parliament

    return parliament


def _analyze() -> Any:
    """parliament's ``analyze_policy_string``."""
    return parliament_module().analyze_policy_string


def documents(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(input name, policy document) for each document among the resource's inputs."""
    for key, value in resource["inputs"].items():
        for document in documents_in(value):
            yield key, document


def findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    """parliament's findings on one document: (issue, detail), each once."""
    policy = _analyze()(json.dumps(document))
    found = {(finding.issue, _detail(finding.detail)) for finding in policy.findings}
    return sorted(found)


def _detail(detail: Any) -> str:
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str, sort_keys=True)
    return text[:400]


def check_policies(plan: Plan) -> tuple[list[CheckResult], int]:
    """One result per document without findings, one per finding; and the documents checked."""
    addresses = resource_addresses(plan)
    results: list[CheckResult] = []
    count = 0
    for resource in plan.resources:
        address = addresses.get(resource["urn"], f"{resource['type']}::{resource['name']}")
        for key, document in documents(resource):
            count += 1
            found = findings(document)
            for issue, detail in found:
                results.append(
                    CheckResult(SOURCE, f"PARLIAMENT_{issue}", NAME, address, key, "failed", detail)
                )
            if not found:
                results.append(CheckResult(SOURCE, PASSED, NAME, address, key, "passed"))
    return results, count
