"""Every stack planned as a user would run it: a pinned model, Kubernetes on, a canary model."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from infra.plan.engine import Plan, synthesize
from infra.plan.validate import ValidationReport, run_validators

STACKS = ("dev", "staging", "prod")
PACKAGES = "arn:aws:sagemaker:us-east-1:123456789012:model-package"


def served(stack: str) -> tuple[str, ...]:
    return (
        f"serving.modelPackageArn={PACKAGES}/mlops-{stack}-fraud-models/3",
        "kubernetes.enabled=true",
        f"kubernetes.canaryModelPackageArn={PACKAGES}/mlops-{stack}-fraud-models/4",
        "kubernetes.canaryWeight=10",
    )


@cache
def stack_plan(stack: str) -> Plan:
    return synthesize(stack, overrides=list(served(stack)))


@cache
def stack_report(stack: str) -> ValidationReport:
    return run_validators(stack_plan(stack))


@pytest.fixture
def plan_of() -> Callable[[str], Plan]:
    return stack_plan


@pytest.fixture
def report_of() -> Callable[[str], ValidationReport]:
    return stack_report
