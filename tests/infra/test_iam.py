"""IAM: confused-deputy conditions, no wildcard actions, resources scoped to the stack."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import policy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def actions_of(statement: dict) -> list[str]:
    action = statement.get("Action", [])
    return action if isinstance(action, list) else [action]


@pytest.mark.parametrize("role", ["execution", "pipeline"])
def test_sagemaker_roles_trust_only_this_accounts_sagemaker(plan_for, role: str) -> None:
    trust = policy(plan_for("prod").one(ROLE, f"mlops-prod-{role}"), "assumeRolePolicy")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert (
        statement["Condition"]["ArnLike"]["aws:SourceArn"]
        == "arn:aws:sagemaker:us-east-1:123456789012:*"
    )


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_allow_statement_uses_a_wildcard_action(plan_for, stack: str) -> None:
    for resource in plan_for(stack).of_type(ROLE_POLICY):
        for statement in policy(resource)["Statement"]:
            for action in actions_of(statement):
                assert action != "*" and not action.endswith(":*"), (resource["name"], action)


def test_pipeline_role_passes_only_the_execution_role_only_to_sagemaker(plan_for) -> None:
    plan = plan_for("prod")
    passing = [
        s
        for r in plan.of_type(ROLE_POLICY)
        for s in policy(r)["Statement"]
        if "iam:PassRole" in actions_of(s)
    ]
    (statement,) = passing
    assert statement["Resource"] == plan.one(ROLE, "mlops-prod-execution")["outputs"]["arn"]
    assert (
        statement["Condition"]["StringEquals"]["iam:PassedToService"] == "sagemaker.amazonaws.com"
    )


def test_pipeline_jobs_are_scoped_to_the_stack_prefix(plan_for) -> None:
    run_jobs = next(
        r for r in plan_for("staging").of_type(ROLE_POLICY) if r["inputs"]["name"] == "run-jobs"
    )
    (statement,) = policy(run_jobs)["Statement"]
    assert all(
        arn.split(":")[5].split("/")[1] == "mlops-staging-*" for arn in statement["Resource"]
    )


def test_resource_wildcards_only_where_aws_allows_no_scope(plan_for) -> None:
    unscopable = {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
    plan = plan_for(
        "prod",
        "network.mode=explicit",
        "network.vpcId=vpc-0123456789abcdef0",
        "network.subnetIds=[subnet-0123456789abcdef0,subnet-0123456789abcdef1]",
        "network.securityGroupIds=[sg-0123456789abcdef0]",
    )
    for resource in plan.of_type(ROLE_POLICY):
        for statement in policy(resource)["Statement"]:
            if statement.get("Resource") == "*":
                assert set(actions_of(statement)) <= unscopable, (resource["name"], statement)


def test_vpc_access_is_limited_to_the_configured_subnets(plan_for) -> None:
    plan = plan_for(
        "prod",
        "network.mode=explicit",
        "network.vpcId=vpc-0123456789abcdef0",
        "network.subnetIds=[subnet-0123456789abcdef0,subnet-0123456789abcdef1]",
        "network.securityGroupIds=[sg-0123456789abcdef0]",
    )
    vpc = [r for r in plan.of_type(ROLE_POLICY) if r["inputs"]["name"] == "vpc-access"]
    assert len(vpc) == 2
    interfaces = policy(vpc[0])["Statement"][0]["Resource"]
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef1" in interfaces
    assert "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0" in interfaces
    assert not [
        r for r in plan_for("prod").of_type(ROLE_POLICY) if r["inputs"]["name"] == "vpc-access"
    ]


def test_network_ids_can_come_from_a_terraform_state(plan_for, tmp_path) -> None:
    state = tmp_path / "landing-zone.tfstate"
    state.write_text(
        json.dumps(
            {
                "version": 4,
                "outputs": {
                    "vpc_id": {"value": "vpc-0fedcba9876543210"},
                    "private_subnet_ids": {
                        "value": ["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]
                    },
                    "sagemaker_security_group_ids": {"value": ["sg-0fedcba9876543210"]},
                },
            }
        ),
        encoding="utf-8",
    )
    plan = plan_for(
        "staging",
        "network.mode=terraform",
        "network.terraform.backend=local",
        f"network.terraform.path={state}",
    )
    vpc = next(r for r in plan.of_type(ROLE_POLICY) if r["inputs"]["name"] == "vpc-access")
    resources = policy(vpc)["Statement"][0]["Resource"]
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0fedcba9876543211" in resources


def test_network_ids_can_come_from_a_remote_terraform_workspace(plan_for) -> None:
    plan = plan_for(
        "prod",
        "network.mode=terraform",
        "network.terraform.backend=remote",
        "network.terraform.organization=acme",
        "network.terraform.workspace=landing-zone",
    )
    vpc = next(r for r in plan.of_type(ROLE_POLICY) if r["inputs"]["name"] == "vpc-access")
    assert (
        "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0a1b2c3d4e5f60719"
        in policy(vpc)["Statement"][0]["Resource"]
    )
