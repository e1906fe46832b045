"""Deployment: pin an approved model of a stack's own registry in that stack's file.

What a stack serves is the ``mlops:serving: modelPackageArn:`` of its stack
file, so serving a model is a one-line change reviewed in a pull request, and
the next ``pulumi up`` of the stack moves its endpoint with the stack's rollout.
``deploy`` writes that line for exactly one package: the one given (what an
approval event names), or the stack's newest approved one. It refuses a package
of another stack's group (that stack's execution role could not read it) and a
package that is not Approved (SageMaker refuses to deploy it). The check and
the write happen under the lock of the stack file's folder, so two deploys of
one stack run one after the other and the second finds the pin in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.naming import StackNames
from ops.release.pinning import pin_model_package
from ops.release.stack_lock import stack_file_lock
from ops.release.stacks import (
    PromotionError,
    group_in_arn,
    known_stack,
    stack_config,
    stack_path,
)
from pipelines.registry import APPROVED, Package, describe, latest_approved

DEPLOYABLE = "dev"


@dataclass(frozen=True)
class Deployment:
    """What a deployment pinned, where, what the file pinned before, and whether it changed."""

    package: Package
    stack: str
    stack_file: Path
    file_changed: bool
    previous_arn: str | None = None


def approved_package(client: Any, arn: str, stack: str, group: str) -> Package:
    """The package ``arn`` if it is in ``group`` and Approved; otherwise a clear error."""
    named = group_in_arn(arn)
    if named != group:
        raise PromotionError(
            f"{arn} is in {named}, not in {group} of stack {stack}; a stack serves "
            "packages of its own group (promote it first: 'mlops promote --arn ARN')"
        )
    package = describe(client, arn)
    if package.status != APPROVED:
        reason = f" ({package.approval_description})" if package.approval_description else ""
        raise PromotionError(
            f"model package {arn} is {package.status}{reason}; only an Approved package is "
            f"served (approve it with 'mlops registry approve {arn} --stack {stack} --reason ...')"
        )
    return package


def deploy(
    client: Any,
    stack: str = DEPLOYABLE,
    stack_file: Path | None = None,
    arn: str | None = None,
) -> Deployment:
    """Pin ``arn`` (default: the newest approved package) in ``stack``'s file; safe to repeat.

    ``stack_file`` is where the pinned file is written (default: the stack's
    environments file; a path that does not exist yet starts as a copy of it).
    """
    known_stack(stack)
    path = stack_path(stack, stack_file)
    with stack_file_lock(path):
        config = stack_config(stack, path)
        group = StackNames(config).model_group
        if arn is not None:
            package = approved_package(client, arn, stack, group)
        else:
            newest = latest_approved(client, group)
            if newest is None:
                raise PromotionError(
                    f"no approved model in {group}; run the pipeline ('mlops pipeline start "
                    f"--stack {stack}') or approve one with 'mlops registry approve ARN "
                    "--reason ...'"
                )
            package = newest
        previous = config.serving.model_package_arn
        changed = pin_model_package(path, package.arn, template=stack_path(stack))
    return Deployment(package, stack, path, changed, previous)
