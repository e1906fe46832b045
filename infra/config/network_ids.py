"""The network ids SageMaker runs in, checked the same way from the stack file or Terraform.

A VPC id, at least two distinct subnets, at least one security group, each of
its own kind (``subnet-...`` is not a security group), and, where the zones
are known, subnets in two availability zones or more (SageMaker spreads an
endpoint's instances across them). A string where a list belongs is named as
such: split into characters it would become one-letter "subnets".
EC2 id format: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ID_DIGITS = r"[0-9a-f]{8,17}"
ZONE_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
MIN_SUBNETS = 2


@dataclass(frozen=True)
class IdProblem:
    """Which value is wrong (``vpcId``, ``subnetIds``, ...) and what is expected instead."""

    field: str
    value: Any
    expected: str


def _id_problem(field: str, value: Any, prefix: str) -> IdProblem | None:
    if isinstance(value, str) and re.fullmatch(f"{prefix}-{ID_DIGITS}", value):
        return None
    return IdProblem(field, value, f"expected a {prefix} id such as {prefix}-0123456789abcdef0")


def _list_problem(field: str, value: Any, prefix: str, minimum: int) -> IdProblem | None:
    example = f"{prefix}-0123456789abcdef0"
    expected = f"expected a list of at least {minimum} distinct {prefix} ids such as [{example}]"
    if not isinstance(value, list):
        kind = "a string" if isinstance(value, str) else type(value).__name__
        return IdProblem(field, value, f"{expected}, not {kind}")
    if len(value) < minimum or len(set(map(str, value))) != len(value):
        return IdProblem(field, value, expected)
    for item in value:
        if _id_problem(field, item, prefix) is not None:
            return IdProblem(field, value, f"{expected}; {item!r} is not one")
    return None


def _zones_problem(subnets: list[str], zones: Any) -> IdProblem | None:
    expected = (
        f"expected the availability zone of each of the {len(subnets)} subnets, in order, "
        f"at least {MIN_SUBNETS} distinct (us-east-1a, us-east-1b)"
    )
    if not isinstance(zones, list) or len(zones) != len(subnets):
        return IdProblem("availabilityZones", zones, expected)
    if not all(isinstance(z, str) and ZONE_PATTERN.match(z) for z in zones):
        return IdProblem("availabilityZones", zones, expected)
    if len(set(zones)) < MIN_SUBNETS:
        return IdProblem(
            "availabilityZones",
            zones,
            f"the subnets are all in {zones[0]}; SageMaker needs subnets in at least "
            f"{MIN_SUBNETS} availability zones to spread instances",
        )
    return None


def network_problem(
    vpc_id: Any, subnet_ids: Any, security_group_ids: Any, zones: Any = None
) -> IdProblem | None:
    """The first thing wrong with a set of network ids, or None when they are usable."""
    problem = (
        _id_problem("vpcId", vpc_id, "vpc")
        or _list_problem("subnetIds", subnet_ids, "subnet", MIN_SUBNETS)
        or _list_problem("securityGroupIds", security_group_ids, "sg", 1)
    )
    if problem is None and zones is not None:
        problem = _zones_problem(subnet_ids, zones)
    return problem
