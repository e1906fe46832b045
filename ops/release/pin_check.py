"""Before ``pulumi up``: is every package the stack file pins one this stack may serve?

Offline, a pin can be checked against the stack's own group only: a package of
another stack's group names artifacts and an image that this stack's execution
role may not read. Whether it is Approved is the registry's to say (SageMaker
refuses to create an endpoint from a package that is not), so that check needs
the registry: ``mlops deploy --check`` and ``mlops scan --registry`` ask it, and
the deploy workflow runs ``mlops deploy --check`` before every ``pulumi up``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.naming import StackNames
from infra.plan.checkov import CheckResult
from ops.release.stacks import PACKAGE_ARN, known_stack, stack_config, stack_path
from pipelines.registry import APPROVED, RegistryError, describe

SOURCE = "registry"
GROUP_CHECK = ("MLOPS_PIN_1", "A pinned model package is in the stack's own group")
APPROVED_CHECK = ("MLOPS_PIN_2", "A pinned model package is Approved in the registry")
PINNED_FIELDS = {
    "serving.modelPackageArn": "model_package_arn",
    "serving.shadowModelPackageArn": "shadow_model_package_arn",
}


def pinned_packages(stack: str, stack_file: Path | None = None) -> dict[str, str]:
    """Config key -> ARN of every package the stack file pins (primary and shadow)."""
    serving = stack_config(stack, stack_file).serving
    pinned = {key: getattr(serving, field) for key, field in PINNED_FIELDS.items()}
    return {key: arn for key, arn in pinned.items() if arn}


def check_pins(stack: str, stack_file: Path | None = None, client: Any = None) -> list[CheckResult]:
    """One result per pinned package and check; without ``client`` the group check only."""
    known_stack(stack)
    path = stack_path(stack, stack_file)
    group = StackNames(stack_config(stack, stack_file)).model_group
    results: list[CheckResult] = []
    for key, arn in pinned_packages(stack, stack_file).items():
        found = PACKAGE_ARN.match(arn)
        named = found.group("group") if found else None
        wrong_group = f"{arn} is in {named}, not in {group}" if named != group else None
        results.append(_result(GROUP_CHECK, key, path, wrong_group))
        if client is not None and wrong_group is None:
            results.append(_result(APPROVED_CHECK, key, path, _approval_problem(client, arn)))
    return results


def _approval_problem(client: Any, arn: str) -> str | None:
    try:
        package = describe(client, arn)
    except RegistryError as error:
        return str(error)
    if package.status == APPROVED:
        return None
    reason = f" ({package.approval_description})" if package.approval_description else ""
    return f"{arn} is {package.status}{reason}; SageMaker deploys only an Approved package"


def _result(check: tuple[str, str], key: str, path: Path, problem: str | None) -> CheckResult:
    check_id, name = check
    return CheckResult(
        source=SOURCE,
        check_id=check_id,
        name=name,
        resource=key,
        file=str(path),
        status="failed" if problem else "passed",
        detail=problem or "",
    )
