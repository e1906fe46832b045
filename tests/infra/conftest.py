"""Plans of the real program under Pulumi mocks, built once per stack and override set."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from infra.plan.engine import Plan, synthesize


@cache
def _plan(stack: str, overrides: tuple[str, ...]) -> Plan:
    return synthesize(stack, overrides=list(overrides))


@pytest.fixture
def plan_for() -> Callable[..., Plan]:
    """``plan_for("prod", "serving.instanceCount=3")``: the recorded plan, cached."""

    def build(stack: str, *overrides: str) -> Plan:
        return _plan(stack, tuple(overrides))

    return build


def policy(resource: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A policy document input, parsed."""
    return json.loads(resource["inputs"][key])
