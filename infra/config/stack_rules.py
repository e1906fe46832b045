"""Rules across a stack's sections that AWS would enforce only when ``pulumi up`` runs.

Each rule raises ``ConfigValueError`` naming the key, so the error is one line at
synth time rather than a failed deployment: user tags (``aws_values``), the
feature group name the stack builds from its prefix, environment and
``featureStore`` settings, and the model packages it serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.config.aws_values import (
    feature_group_problem,
    package_arn_problem,
    parse_package_arn,
    tags_problem,
)
from infra.config.base import ConfigValueError

if TYPE_CHECKING:
    from infra.config.model import StackConfig


def check_accepted_by_aws(config: StackConfig) -> None:
    """Raise ConfigValueError for the first value AWS would refuse."""
    tag = tags_problem(config.tags)
    if tag is not None:
        raise ConfigValueError(*tag)
    _check_feature_group(config)
    _check_packages(config)


def _check_feature_group(config: StackConfig) -> None:
    from infra.naming import StackNames

    store = config.feature_store
    name = StackNames(config).feature_group
    problem = feature_group_problem(name) if name is not None else None
    if problem is not None:
        raise ConfigValueError("featureStore.featureGroupName", store.feature_group_name, problem)


def _check_packages(config: StackConfig) -> None:
    serving = config.serving
    arns = {
        "serving.modelPackageArn": serving.model_package_arn,
        "serving.shadowModelPackageArn": serving.shadow_model_package_arn,
    }
    for key, arn in arns.items():
        problem = package_arn_problem(arn, config.region) if arn else None
        if problem is not None:
            raise ConfigValueError(key, arn, problem)
    primary = parse_package_arn(serving.model_package_arn or "")
    shadow = parse_package_arn(serving.shadow_model_package_arn or "")
    if primary is not None and shadow is not None and primary.account != shadow.account:
        raise ConfigValueError(
            "serving.shadowModelPackageArn",
            serving.shadow_model_package_arn,
            f"is in account {shadow.account}, modelPackageArn in {primary.account}: "
            "both variants serve packages of the stack's own registry",
        )


def check_allowed_accounts(config: StackConfig, accounts: list[str]) -> None:
    """Refuse a package of an account the provider may not deploy to (``aws:allowedAccountIds``).

    The AWS provider refuses credentials of any other account
    (https://www.pulumi.com/registry/packages/aws/installation-configuration/), so
    those accounts are the stack's: a package of another one is not its own.
    """
    serving = config.serving
    for key, arn in (
        ("serving.modelPackageArn", serving.model_package_arn),
        ("serving.shadowModelPackageArn", serving.shadow_model_package_arn),
    ):
        parts = parse_package_arn(arn or "")
        if parts is not None and parts.account not in accounts:
            raise ConfigValueError(
                key,
                arn,
                f"is in account {parts.account}, not one of the stack's aws:allowedAccountIds "
                f"({', '.join(accounts)}); promote the package into the stack's account",
            )
