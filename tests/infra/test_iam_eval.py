"""The IAM evaluator: explicit deny wins, wildcards and conditions behave as IAM's do."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.plan.engine import Plan
from infra.plan.iam_eval import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Request,
    evaluate,
    key_arn_of_alias,
    role_documents,
)
from ml.model_artifact import TARBALL

PlanFor = Callable[..., Plan]

BUCKET = "arn:aws:s3:::mlops-prod-artifacts-123456789012-us-east-1"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: object, resource: object, **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_action_wildcard_allows_matching_actions_case_insensitively() -> None:
    policy = doc(allow("s3:Get*", f"{BUCKET}/*"))
    assert evaluate([policy], Request("S3:GETOBJECT", f"{BUCKET}/{TARBALL}")) == ALLOW
    assert evaluate([policy], Request("s3:PutObject", f"{BUCKET}/{TARBALL}")) == IMPLICIT_DENY


def test_a_resource_wildcard_stops_at_other_buckets() -> None:
    policy = doc(allow("s3:GetObject", f"{BUCKET}/*"))
    other = f"arn:aws:s3:::mlops-dev-artifacts-123456789012-us-east-1/{TARBALL}"
    assert evaluate([policy], Request("s3:GetObject", other)) == IMPLICIT_DENY
    assert evaluate([policy], Request("s3:GetObject", BUCKET)) == IMPLICIT_DENY


def test_resources_match_case_sensitively() -> None:
    policy = doc(allow("s3:GetObject", f"{BUCKET}/models/*"))
    assert evaluate([policy], Request("s3:GetObject", f"{BUCKET}/Models/a")) == IMPLICIT_DENY


def test_an_explicit_deny_wins_over_an_allow_in_another_document() -> None:
    allowed = doc(allow("s3:*", "*"))
    denied = doc({"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"})
    assert evaluate([allowed, denied], Request("s3:GetObject", f"{BUCKET}/a")) == EXPLICIT_DENY


def test_not_action_allows_everything_but_the_listed_actions() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"})
    assert evaluate([policy], Request("s3:GetObject", f"{BUCKET}/a")) == ALLOW
    assert evaluate([policy], Request("s3:DeleteObject", f"{BUCKET}/a")) == IMPLICIT_DENY


def test_a_condition_holds_only_with_the_key_in_the_request() -> None:
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    policy = doc(allow("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k", Condition=via_s3))
    key = "arn:aws:kms:us-east-1:1:key/k"
    assert evaluate([policy], Request("kms:Decrypt", key)) == IMPLICIT_DENY
    context = {"kms:viaservice": "s3.us-east-1.amazonaws.com"}  # keys are case-insensitive
    assert evaluate([policy], Request("kms:Decrypt", key, context)) == ALLOW
    other = {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}
    assert evaluate([policy], Request("kms:Decrypt", key, other)) == IMPLICIT_DENY


def test_negated_and_if_exists_operators_hold_when_the_key_is_missing() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
    }
    assert evaluate([doc(deny)], Request("s3:PutObject", f"{BUCKET}/a")) == EXPLICIT_DENY
    kms = {"s3:x-amz-server-side-encryption": "aws:kms"}
    assert evaluate([doc(deny)], Request("s3:PutObject", f"{BUCKET}/a", kms)) == IMPLICIT_DENY


def test_null_checks_whether_a_key_is_present() -> None:
    policy = doc(allow("s3:GetObject", "*", Condition={"Null": {"aws:SourceIp": "true"}}))
    assert evaluate([policy], Request("s3:GetObject", "x")) == ALLOW
    assert evaluate([policy], Request("s3:GetObject", "x", {"aws:SourceIp": "1.2.3.4"})) == (
        IMPLICIT_DENY
    )


def test_statements_for_another_principal_do_not_apply() -> None:
    policy = doc(allow("s3:GetObject", "*", Principal={"AWS": "arn:aws:iam::1:role/other"}))
    assert evaluate([policy], Request("s3:GetObject", "x")) == IMPLICIT_DENY


def test_an_unknown_condition_operator_is_refused_rather_than_guessed() -> None:
    policy = doc(allow("s3:GetObject", "*", Condition={"ForAnyValue:StringLike": {"k": "v"}}))
    with pytest.raises(ValueError, match="not supported"):
        evaluate([policy], Request("s3:GetObject", "x", {"k": "v"}))


def test_the_prod_execution_role_reads_its_artifacts_but_not_devs(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    documents = role_documents(plan, "mlops-prod-execution")
    assert evaluate(documents, Request("s3:GetObject", f"{BUCKET}/promoted/m.tar.gz")) == ALLOW
    dev = "arn:aws:s3:::mlops-dev-artifacts-123456789012-us-east-1/m.tar.gz"
    assert evaluate(documents, Request("s3:GetObject", dev)) == IMPLICIT_DENY


def test_an_alias_resolves_to_its_key_in_the_plan(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    key = key_arn_of_alias(plan, "alias/mlops-prod-data")
    assert key == plan.one("aws:kms/key:Key")["outputs"]["arn"]
