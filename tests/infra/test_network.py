"""Network ids from a Terraform landing zone: read as deployed, typed, never invented offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra.plan.engine import synthesize
from tests.infra.conftest import policy

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VPC = "vpc-0fedcba9876543210"
SUBNETS = ["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]
GROUPS = ["sg-0fedcba9876543210"]


def state_file(tmp_path: Path, **outputs: Any) -> Path:
    values = {
        "vpc_id": VPC,
        "private_subnet_ids": SUBNETS,
        "sagemaker_security_group_ids": GROUPS,
        **outputs,
    }
    path = tmp_path / "landing-zone.tfstate"
    path.write_text(
        json.dumps({"version": 4, "outputs": {k: {"value": v} for k, v in values.items()}}),
        encoding="utf-8",
    )
    return path


def local(path: Path | str, *extra: str) -> list[str]:
    return [
        "network.mode=terraform",
        "network.terraform.backend=local",
        f"network.terraform.path={path}",
        *extra,
    ]


def test_a_local_state_path_where_no_state_is_fails_offline_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^invalid config mlops:network.terraform.path = .*"):
        synthesize("prod", overrides=local(tmp_path / "no-such.tfstate"))


def test_a_local_state_that_is_not_json_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "terraform.tfstate"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a readable Terraform state") as raised:
        synthesize("prod", overrides=local(broken))
    assert "\n" not in str(raised.value)


def test_a_state_of_an_old_format_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "terraform.tfstate"
    old.write_text(json.dumps({"version": 3, "modules": []}), encoding="utf-8")
    with pytest.raises(ConfigError, match="format version 4"):
        synthesize("prod", overrides=local(old))


@pytest.mark.parametrize(
    ("outputs", "key", "words"),
    [
        ({"private_subnet_ids": "subnet-0fedcba9876543210"}, "subnetIdsOutput", "not a string"),
        ({"private_subnet_ids": SUBNETS[:1]}, "subnetIdsOutput", "at least 2"),
        ({"private_subnet_ids": [SUBNETS[0], SUBNETS[0]]}, "subnetIdsOutput", "distinct"),
        ({"private_subnet_ids": [SUBNETS[0], GROUPS[0]]}, "subnetIdsOutput", "is not one"),
        ({"vpc_id": ["vpc-0fedcba9876543210"]}, "vpcIdOutput", "a vpc id"),
        ({"sagemaker_security_group_ids": "sg-0fedcba9876543210"}, "securityGroupIdsOutput", ""),
        ({"sagemaker_security_group_ids": []}, "securityGroupIdsOutput", "at least 1"),
    ],
)
def test_terraform_outputs_are_typed_like_stack_config(
    tmp_path: Path, outputs: dict[str, Any], key: str, words: str
) -> None:
    path = state_file(tmp_path, **outputs)
    with pytest.raises(ConfigError) as raised:
        synthesize("prod", overrides=local(path))
    message = str(raised.value)
    assert message.startswith(f"invalid config mlops:network.terraform.{key} = "), message
    assert words in message and "\n" not in message


def test_subnets_in_one_availability_zone_are_refused_when_the_zones_are_known(
    tmp_path: Path,
) -> None:
    path = state_file(tmp_path, subnet_zones=["us-east-1a", "us-east-1a"])
    zones = "network.terraform.availabilityZonesOutput=subnet_zones"
    with pytest.raises(ConfigError, match=r"availabilityZonesOutput = 'subnet_zones'.*us-east-1a"):
        synthesize("prod", overrides=local(path, zones))


def test_subnets_in_two_zones_plan(plan_for, tmp_path: Path) -> None:
    path = state_file(tmp_path, subnet_zones=["us-east-1a", "us-east-1b"])
    plan = plan_for("prod", *local(path, "network.terraform.availabilityZonesOutput=subnet_zones"))
    vpc = next(r for r in plan.of_type(ROLE_POLICY) if r["inputs"]["name"] == "vpc-access")
    resources = policy(vpc)["Statement"][0]["Resource"]
    assert f"arn:aws:ec2:us-east-1:123456789012:subnet/{SUBNETS[1]}" in resources
    assert plan.notes == []


def test_a_relative_state_path_starts_at_the_project_root(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no Terraform state at /.*/landing/terraform.tfstate"):
        synthesize("prod", overrides=local("landing/terraform.tfstate"))


def test_explicit_network_ids_are_checked_by_kind() -> None:
    from infra.config import load_stack

    with pytest.raises(ConfigError, match=r"mlops:network.subnetIds = .*'sg-0fedcba9876543210'"):
        load_stack(
            "prod",
            overrides=[
                "network.mode=explicit",
                f"network.vpcId={VPC}",
                f"network.subnetIds=[{SUBNETS[0]}, {GROUPS[0]}]",
                f"network.securityGroupIds=[{GROUPS[0]}]",
            ],
        )


@pytest.mark.parametrize(
    ("backend", "keys"),
    [
        ("s3", ["network.terraform.bucket=landing", "network.terraform.key=zone.tfstate"]),
        ("remote", ["network.terraform.organization=acme", "network.terraform.workspace=lz"]),
    ],
)
def test_remote_states_are_stand_ins_and_the_plan_says_so(
    plan_for, backend: str, keys: list[str]
) -> None:
    plan = plan_for("prod", "network.mode=terraform", f"network.terraform.backend={backend}", *keys)
    assert len(plan.notes) == 1
    assert f"the {backend} Terraform state" in plan.notes[0]
    assert "stand-in outputs" in plan.notes[0]
    assert plan.to_dict()["notes"] == plan.notes


def test_synth_prints_the_stand_ins(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ops.cli import app

    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--stack",
            "staging",
            "-q",
            "--set",
            "network.mode=terraform",
            "--set",
            "network.terraform.backend=remote",
            "--set",
            "network.terraform.organization=acme",
            "--set",
            "network.terraform.workspace=lz",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "offline stand-in" in result.output and "acme/lz" in result.output


def test_mlops_synth_on_a_missing_state_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    """The failed Outputs the engine collects later must not print the error again."""
    import subprocess
    import sys

    sets = [arg for item in local(tmp_path / "gone.tfstate") for arg in ("--set", item)]
    completed = subprocess.run(
        [sys.executable, "-m", "ops.cli", "synth", "--stack", "prod", "-q", *sets],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: invalid config mlops:network.terraform.path"
    )


def test_a_missing_output_names_the_setting_that_names_it(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    path.write_text(json.dumps({"version": 4, "outputs": {"vpc_id": {"value": VPC}}}), "utf-8")
    with pytest.raises(ConfigError) as raised:
        synthesize("prod", overrides=local(path))
    assert str(raised.value).startswith(
        "invalid config mlops:network.terraform.subnetIdsOutput = 'private_subnet_ids': "
        "the Terraform state has no such output; outputs present: vpc_id"
    )
