"""parliament on every IAM policy document of every stack, and on documents it must refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_stack
from infra.plan.engine import Plan
from infra.plan.validate import run_validators
from infra.plan.validate.allowlist import AllowListError, load_allowlist
from infra.plan.validate.iam import check_policies
from tests.validators.conftest import STACKS

BUCKET_ARN = "arn:aws:s3:::mlops-prod-data-123456789012-us-east-1"


def one_policy_plan(
    statements: list[dict[str, Any]], type_token: str = "aws:iam/rolePolicy:RolePolicy"
) -> Plan:
    """A plan holding one role policy with ``statements``: the broken fixture."""
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    resource = {
        "urn": "urn:pulumi:prod::mlops::aws:iam/rolePolicy:RolePolicy::broken",
        "type": type_token,
        "name": "broken",
        "custom": True,
        "inputs": {"role": "mlops-prod-execution", "name": "broken", "policy": document},
        "outputs": {},
        "parent": None,
        "dependencies": [],
    }
    return Plan(project="mlops", stack="prod", config=load_stack("prod"), resources=[resource])


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_document_passes_parliament(report_of, stack: str) -> None:
    report = report_of(stack)
    failures = [
        (f.check_id, f.resource, f.detail) for f in report.failures if f.source == "validator:iam"
    ]
    assert failures == []
    assert report.checked["policy documents"] >= 30


@pytest.mark.parametrize("stack", STACKS)
def test_identity_trust_and_resource_policies_are_all_checked(plan_of, stack: str) -> None:
    results, _ = check_policies(plan_of(stack))
    kinds = {r.resource.split(".")[0] for r in results}
    assert {
        "aws_iam_role",  # trust policies
        "aws_iam_role_policy",
        "aws_s3_bucket_policy",
        "aws_kms_key",
        "aws_sns_topic_policy",
        "aws_sqs_queue_policy",
    } <= kinds


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        (
            {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": f"{BUCKET_ARN}/*"},
            "UNKNOWN_ACTION",
        ),
        ({"Effect": "Allow", "Action": "sagemakr:CreateModel", "Resource": "*"}, "UNKNOWN_PREFIX"),
        # The grant that never matched: GetBucketLocation carries no s3:prefix.
        (
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": BUCKET_ARN,
                "Condition": {"StringLike": {"s3:prefix": ["raw/*"]}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        # An object action on the bucket's ARN matches no object.
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET_ARN},
            "RESOURCE_MISMATCH",
        ),
    ],
)
def test_a_broken_document_fails(statement: dict[str, Any], issue: str) -> None:
    report = run_validators(one_policy_plan([statement]))
    failed = {f.check_id for f in report.failures if f.source == "validator:iam"}
    assert f"PARLIAMENT_{issue}" in failed


def test_a_clean_document_passes() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/raw/*"}
    results, count = check_policies(one_policy_plan([statement]))
    assert count == 1 and [r.status for r in results] == ["passed"]


def test_every_allow_list_entry_gives_a_reason_and_a_page() -> None:
    allowed = load_allowlist()
    assert allowed.entries
    for entry in allowed.entries:
        assert len(entry.reason) >= 20
        assert "https://" in entry.reason, entry


@pytest.mark.parametrize(
    "entry",
    [
        "- {validator: iam, check: X}",
        "- {validator: iam, check: X, reason: short}",
        "- {validator: nosuch, check: X, reason: a reason long enough to pass the length}",
    ],
)
def test_an_allow_list_entry_without_a_reason_or_validator_is_refused(
    tmp_path: Path, entry: str
) -> None:
    path = tmp_path / "allow.yaml"
    path.write_text(f"allow:\n  {entry}\n", encoding="utf-8")
    with pytest.raises(AllowListError, match="entry #1"):
        load_allowlist(path)


def test_an_allow_list_entry_covers_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "allow.yaml"
    path.write_text(
        "allow:\n"
        "  - validator: iam\n"
        "    check: PARLIAMENT_UNKNOWN_ACTION\n"
        "    resource: aws_iam_role_policy.other\n"
        "    reason: covers another resource than the broken one\n",
        encoding="utf-8",
    )
    plan = one_policy_plan([{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}])
    report = run_validators(plan, allowlist=path)
    assert {f.check_id for f in report.failures} >= {"PARLIAMENT_UNKNOWN_ACTION"}
    assert [a.resource for a in report.unused] == ["aws_iam_role_policy.other"]
