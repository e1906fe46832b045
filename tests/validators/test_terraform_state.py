"""A landing zone applied by a real ``terraform`` to a local state, read by the program.

The configuration uses only what Terraform has built in (``terraform_data``,
outputs, the local backend), so it applies offline. The program then plans a
stack whose network comes from that state; a state whose subnet output is a
string fails the plan with one line instead of "subnets" of one character.
Skipped, saying why, where no ``terraform`` 1.x is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.config import ConfigError
from infra.plan.engine import Plan, synthesize

TERRAFORM = shutil.which("terraform")
SUBNETS = {
    "a": ("subnet-0a1b2c3d4e5f60701", "us-east-1a"),
    "b": ("subnet-0a1b2c3d4e5f60702", "us-east-1b"),
}
LANDING_ZONE = """
terraform {
  required_version = ">= 1.4, < 2.0"
}

resource "terraform_data" "vpc" {
  input = "vpc-0a1b2c3d4e5f60700"
}

resource "terraform_data" "subnet" {
  for_each = {
%(subnets)s
  }
  input = { id = each.value[0], zone = each.value[1] }
}

resource "terraform_data" "sagemaker_security_group" {
  input = "sg-0a1b2c3d4e5f60700"
}

output "vpc_id" {
  value = terraform_data.vpc.output
}

output "private_subnet_ids" {
  value = %(subnet_ids)s
}

output "private_subnet_azs" {
  value = [for key in sort(keys(terraform_data.subnet)) : terraform_data.subnet[key].output.zone]
}

output "sagemaker_security_group_ids" {
  value = [terraform_data.sagemaker_security_group.output]
}
"""
AS_LIST = "[for key in sort(keys(terraform_data.subnet)) : terraform_data.subnet[key].output.id]"
AS_STRING = 'terraform_data.subnet["a"].output.id'  # the mistake: one subnet, not a list


def terraform(folder: Path, *arguments: str) -> None:
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": str(folder / "terraformrc"),
        "TF_DATA_DIR": str(folder / ".terraform"),
    }
    assert TERRAFORM is not None
    done = subprocess.run(
        [TERRAFORM, *arguments, "-input=false", "-no-color"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def apply_landing_zone(folder: Path, subnet_ids: str) -> Path:
    if TERRAFORM is None:
        pytest.skip("terraform is not installed: install Terraform 1.x to apply the landing zone")
    version = subprocess.run([TERRAFORM, "version"], capture_output=True, text=True, check=False)
    if not version.stdout.startswith("Terraform v1."):
        pytest.skip(f"these tests need Terraform 1.x; found {version.stdout.splitlines()[:1]}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "terraformrc").write_text("", encoding="utf-8")
    subnets = "\n".join(
        f'    {key} = ["{subnet}", "{zone}"]' for key, (subnet, zone) in SUBNETS.items()
    )
    (folder / "main.tf").write_text(
        LANDING_ZONE % {"subnets": subnets, "subnet_ids": subnet_ids}, encoding="utf-8"
    )
    terraform(folder, "init")
    terraform(folder, "apply", "-auto-approve")
    return folder / "terraform.tfstate"


def from_state(state: Path, *extra: str) -> list[str]:
    return [
        "network.mode=terraform",
        "network.terraform.backend=local",
        f"network.terraform.path={state}",
        *extra,
    ]


@pytest.fixture(scope="module")
def landing_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return apply_landing_zone(tmp_path_factory.mktemp("landing-zone"), AS_LIST)


@pytest.fixture(scope="module")
def plan(landing_zone: Path) -> Plan:
    overrides = from_state(
        landing_zone, "network.terraform.availabilityZonesOutput=private_subnet_azs"
    )
    return synthesize(
        "prod",
        overrides=[
            *overrides,
            "serving.modelPackageArn=arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3",
        ],
    )


def test_the_endpoints_model_runs_in_the_landing_zones_subnets(plan: Plan) -> None:
    model = plan.one("aws:sagemaker/model:Model")["inputs"]
    assert model["vpcConfig"]["subnets"] == [subnet for subnet, _ in SUBNETS.values()]
    assert model["vpcConfig"]["securityGroupIds"] == ["sg-0a1b2c3d4e5f60700"]
    assert plan.notes == []  # a local state is read, never stood in for


def test_the_roles_may_create_interfaces_in_those_subnets_only(plan: Plan) -> None:
    import json

    vpc = next(
        r
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if r["inputs"]["name"] == "vpc-access"
    )
    resources = json.loads(vpc["inputs"]["policy"])["Statement"][0]["Resource"]
    for subnet, _ in SUBNETS.values():
        assert f"arn:aws:ec2:us-east-1:123456789012:subnet/{subnet}" in resources


def test_a_subnet_output_that_is_a_string_fails_the_plan_in_one_line(tmp_path: Path) -> None:
    state = apply_landing_zone(tmp_path / "zone", AS_STRING)
    with pytest.raises(ConfigError) as raised:
        synthesize("prod", overrides=from_state(state))
    message = str(raised.value)
    assert message.startswith(
        "invalid config mlops:network.terraform.subnetIdsOutput = 'private_subnet_ids'"
    )
    assert "not a string" in message and "\n" not in message
