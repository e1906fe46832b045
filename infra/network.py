"""The network SageMaker runs in: none, explicit ids, or a Terraform landing zone's outputs.

Teams whose VPC is managed by Terraform point ``network.terraform`` at that
state; ``pulumi_terraform`` reads its outputs, so nothing is copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.config import NAMESPACE, ConfigError, Network, TerraformState
from infra.config.network_ids import network_problem


@dataclass(frozen=True)
class NetworkIds:
    """VPC, subnets and security groups, as Outputs (known only at deploy time for Terraform)."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    security_group_ids: pulumi.Output[list[str]]

    def as_output(self) -> pulumi.Output[dict[str, list[str]]]:
        return pulumi.Output.all(self.subnet_ids, self.security_group_ids).apply(
            lambda values: {"subnet_ids": list(values[0]), "security_group_ids": list(values[1])}
        )


def resolve_network(network: Network) -> NetworkIds | None:
    """The stack's network ids, or None when SageMaker runs without a VPC."""
    if network.mode == "none":
        return None
    if network.mode == "explicit":
        return NetworkIds(
            vpc_id=pulumi.Output.from_input(network.vpc_id or ""),
            subnet_ids=pulumi.Output.from_input(list(network.subnet_ids)),
            security_group_ids=pulumi.Output.from_input(list(network.security_group_ids)),
        )
    return _from_terraform_state(network)


def _from_terraform_state(network: Network) -> NetworkIds:
    from pulumi_terraform import state

    settings = network.terraform
    assert settings is not None  # guaranteed by Network's validator
    if settings.backend == "s3":
        outputs = state.get_s3_reference_output(
            bucket=settings.bucket, key=settings.key, region=settings.region
        ).outputs
    elif settings.backend == "remote":
        outputs = state.get_remote_reference_output(
            organization=settings.organization,
            workspaces=state.Workspaces(name=settings.workspace),
        ).outputs
    else:
        outputs = state.get_local_reference_output(path=settings.path).outputs
    checked = outputs.apply(lambda values: checked_outputs(values, settings))
    return NetworkIds(
        vpc_id=checked.apply(lambda ids: ids["vpcId"]),
        subnet_ids=checked.apply(lambda ids: ids["subnetIds"]),
        security_group_ids=checked.apply(lambda ids: ids["securityGroupIds"]),
    )


# Which setting names the Terraform output behind each network value.
OUTPUT_KEYS = {
    "vpcId": "vpcIdOutput",
    "subnetIds": "subnetIdsOutput",
    "securityGroupIds": "securityGroupIdsOutput",
    "availabilityZones": "availabilityZonesOutput",
}


def checked_outputs(values: dict[str, Any], settings: TerraformState) -> dict[str, Any]:
    """The network ids read from Terraform outputs, typed and checked like stack config.

    A string where a list of subnets belongs, an id of the wrong kind, too few
    subnets or subnets in one zone fail here, as one line naming the setting
    and the output, instead of at CreateModel.
    """
    names = {
        "vpcId": settings.vpc_id_output,
        "subnetIds": settings.subnet_ids_output,
        "securityGroupIds": settings.security_group_ids_output,
    }
    if settings.availability_zones_output is not None:
        names["availabilityZones"] = settings.availability_zones_output
    read = {field: _required_output(values, field, name) for field, name in names.items()}
    problem = network_problem(
        read["vpcId"], read["subnetIds"], read["securityGroupIds"], read.get("availabilityZones")
    )
    if problem is not None:
        name = names[problem.field]
        raise ConfigError(
            f"invalid config {NAMESPACE}:network.terraform.{OUTPUT_KEYS[problem.field]} = "
            f"{name!r}: the Terraform output holds {problem.value!r}; {problem.expected}"
        )
    return {field: read[field] for field in ("vpcId", "subnetIds", "securityGroupIds")}


def _required_output(values: dict[str, object], field: str, name: str) -> object:
    if name not in values:
        raise ConfigError(
            f"invalid config {NAMESPACE}:network.terraform.{OUTPUT_KEYS[field]} = {name!r}: "
            f"the Terraform state has no such output; outputs present: "
            f"{', '.join(sorted(values)) or 'none'}. Name the output your landing zone exports"
        )
    return values[name]
