"""A prod plan with a model pinned, shared by the simulation's unit tests."""

from __future__ import annotations

from functools import cache

import pytest

from infra.plan.engine import Plan, synthesize

PINNED = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"


@cache
def _prod() -> Plan:
    return synthesize("prod", overrides=[f"serving.modelPackageArn={PINNED}"])


@pytest.fixture
def prod_plan() -> Plan:
    """prod as planned with a model pinned: endpoint, monitoring, alarms, rules, gate."""
    return _prod()
